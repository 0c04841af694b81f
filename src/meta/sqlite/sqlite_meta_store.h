// The embedded MetaStore: one SQLite database in WAL mode at <root>/meta.db. Writes go through
// one connection under a mutex (SQLite has one writer anyway); reads use a bounded pool of
// connections.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "meta/sql/sql_meta_store.h"

namespace arca {
namespace sqlite {
class Connection;
}

class SqliteMetaStore final : public SqlMetaStore {
 public:
  struct Options {
    // Read connections open at most; readers beyond it wait for a free one (up to
    // reader_wait_ms, then UNAVAILABLE). Connections are never closed while the store is
    // open: SQLite cannot close a file while another connection of the process holds a lock
    // on it (POSIX locks are per process), so closing one while others stay open leaks its
    // descriptor until the last one closes (measured: ~290 fds on meta.db after 300 clients).
    size_t max_readers = DefaultMaxReaders();
    int reader_wait_ms = 10000;
    // False: a missing database file is an error instead of a new, empty database.
    bool create = true;
    // Apply pending schema steps at open (meta/migrations.h); false: refuse to open a schema
    // that needs them (`migrate: manual`, for operators who run `arca migrate up` themselves).
    bool migrate = true;
  };
  // `arca migrate status`: the applied and pending steps of the database at path.
  static Result<std::string> DescribeSchema(const std::string& path);
  // `arca migrate up`: applies the pending steps.
  static Status MigrateSchema(const std::string& path, bool create);
  // Twice the cores, at least 4 and at most 32.
  static size_t DefaultMaxReaders();

  static Result<std::unique_ptr<SqliteMetaStore>> Open(const std::string& path,
                                                       const Options& options);
  static Result<std::unique_ptr<SqliteMetaStore>> Open(const std::string& path) {
    return Open(path, Options());
  }
  ~SqliteMetaStore() override;

  // Read connections open now, and the most that ever were (for tests and diagnostics).
  size_t open_readers();
  size_t peak_readers();
  // True once the database file was found unlinked or replaced under the open store; from
  // then on every write fails with UNAVAILABLE (reads go on from the connections open).
  bool database_lost() const { return database_lost_.load(); }

  // One process serves a SQLite store (the store lock), so its leases are always its own: a
  // pass cut short by a crash does not keep the next process from collecting.
  Result<bool> TakeLease(const std::string&, const std::string&, int64_t) override {
    return true;
  }
  Status ReleaseLease(const std::string&, const std::string&) override { return Status::Ok(); }

  // A connection from the pool: an idle one, a new one while fewer than max_readers are
  // open, or the next one released (waiting up to reader_wait_ms). Callers must not hold
  // one lease while acquiring another: with the pool exhausted that would wait on itself.
  // Public for tests, which hold the pool's connections with it.
  Result<sql::Lease> AcquireReader() override;

 private:
  SqliteMetaStore(std::string path, const Options& options);
  void ReleaseReader(std::unique_ptr<sql::Connection> c);
  sql::Lease Lease(std::unique_ptr<sql::Connection> c);
  // Before each write batch: is the file at path_ still the one the writer has open? Once it
  // is not, marks the database lost (and says so loudly on stderr).
  bool DatabaseMoved();
  // Runs fn in a write transaction and returns once it is durable. Concurrent callers are
  // committed together (group commit): one caller leads, running every waiting fn in its own
  // savepoint (a failing fn is rolled back alone) inside one BEGIN ... COMMIT, so one fsync
  // serves them all.
  Status WriteTransaction(const std::function<Status(sql::Connection&)>& fn) override;
  // Refuses a schema an applied step makes too new for this build; applies pending steps
  // (migrate) or refuses to go on without them.
  static Status CheckSchema(sqlite::Connection& c, bool migrate);
  struct PendingWrite;
  void RunBatch(const std::vector<PendingWrite*>& batch);

  std::string path_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<PendingWrite*> queue_;  // GUARDED_BY(queue_mu_)
  bool leading_ = false;              // GUARDED_BY(queue_mu_): a batch is being committed
  std::unique_ptr<sqlite::Connection> writer_;  // used by the leader only
  Options options_;
  std::atomic<bool> database_lost_{false};
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<sql::Connection>> idle_readers_;  // GUARDED_BY(pool_mu_)
  size_t open_readers_ = 0;                                         // GUARDED_BY(pool_mu_)
  size_t peak_readers_ = 0;                                         // GUARDED_BY(pool_mu_)
};

}  // namespace arca
