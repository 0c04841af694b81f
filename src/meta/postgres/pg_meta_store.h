// The MetaStore on PostgreSQL (`metadata: postgres://…`): the shared SQL layer of meta/sql over
// a pool of libpq connections, for many replicas sharing one database.
//
// Every write runs in one SERIALIZABLE transaction: PostgreSQL then guarantees the outcome of
// some serial order of the transactions, the same guarantee SQLite's single writer gives, so
// the registry's rules (a manifest's references exist when it is stored, GC deletes nothing a
// concurrent push came to reference) hold across replicas with no locking of their own. A
// transaction the server aborts for a conflict (40001, 40P01) or that loses its connection
// before COMMIT is run again from the start, with backoff; when the database stays out of
// reach the call fails with UNAVAILABLE (503). A lost connection during COMMIT is not retried:
// the outcome is unknown, and the client's retry of its request decides.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "meta/sql/sql_database.h"
#include "meta/sql/sql_meta_store.h"

namespace arca {
namespace pg {
class Connection;
}

// Also a sql::Database, for the accounts and the audit stream that live in its tables
// (meta/sql/sql_account_store.h, sql_audit_store.h).
class PgMetaStore final : public SqlMetaStore, public sql::Database {
 public:
  struct Options {
    // A postgres:// or postgresql:// URL as libpq takes it (user, password, host, port,
    // database, sslmode, sslrootcert, connect_timeout, ...), plus Arca's own query parameters,
    // which are taken out before libpq sees the URL:
    //   pool=N        connections open at most (default 16)
    //   pool_wait=MS  how long a call waits for a free connection (default 10000)
    std::string url;
    bool migrate = true;  // as SqliteMetaStore::Options::migrate
    // This machine's clock, in milliseconds since the epoch (tests put it off to show that a
    // replica's clock does not matter); none: the system clock.
    std::function<int64_t()> local_clock_ms;
  };
  struct Settings {  // what the URL says, parsed
    std::string conninfo;  // the URL without Arca's parameters
    size_t pool = 16;
    int pool_wait_ms = 10000;
  };
  // Parses url; an Arca parameter out of range is an error, libpq's own are checked by libpq.
  static Result<Settings> ParseUrl(const std::string& url);
  // The URL with its password replaced by ***, for logs and errors.
  static std::string Redacted(const std::string& url);

  static Result<std::unique_ptr<PgMetaStore>> Open(const Options& options);
  static Result<std::string> DescribeSchema(const std::string& url);
  static Status MigrateSchema(const std::string& url);
  ~PgMetaStore() override;

  // Transactions run again after a conflict or a lost connection, since the store opened.
  uint64_t retries() const;

  // An advisory lock on the key, taken with pg_try_advisory_lock on one connection kept for
  // locks (waiting with backoff, up to pool_wait, then UNAVAILABLE). Within a process the
  // caller's own lock on the key comes first, so the session-level lock (re-entrant in
  // PostgreSQL) is never taken twice at once. If that connection is lost, its locks are gone
  // with it: the next HoldKey opens a new one, and says so on stderr.
  Result<std::unique_ptr<Hold>> HoldKey(const std::string& key) override;

 public:  // sql::Database, and SqlMetaStore's connection interface
  Result<sql::Lease> AcquireReader() override;
  Status WriteTransaction(const std::function<Status(sql::Connection&)>& fn) override;
  // REPEATABLE READ READ ONLY, retried as WriteTransaction is.
  Status ReadSnapshot(const std::function<Status(sql::Connection&)>& fn) override;

 protected:
  // Runs again after the connection was lost in the middle of fn (the database restarting),
  // with backoff, for up to the retry budget.
  Status Read(const std::function<Status(sql::Connection&)>& fn) override;
  // This machine's clock corrected by its offset from the database's, measured on every new
  // connection and at least once a minute.
  int64_t Now() const override;

 private:
  PgMetaStore(Settings settings, std::function<int64_t()> local_clock_ms);
  // fn in a transaction begun with `begin`, run again after a conflict or a connection lost
  // before COMMIT, with backoff, for up to the retry budget.
  Status RunTransaction(const char* begin, const std::function<Status(sql::Connection&)>& fn,
                        bool write);
  Result<std::unique_ptr<pg::Connection>> Take();
  void Give(std::unique_ptr<pg::Connection> c);
  // Applies pending steps under an advisory lock (or refuses without them, unless migrate).
  static Status CheckSchema(pg::Connection& c, bool migrate);
  // Measures the offset of the database's clock from this machine's on c.
  void MeasureClock(pg::Connection& c);
  class KeyHold;
  Status Unlock(int64_t key, uint64_t generation);
  // Whether the lock connection of that generation is still the one, and alive.
  bool LockSessionAlive(uint64_t generation);

  Settings settings_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pg::Connection>> idle_;  // GUARDED_BY(mu_)
  size_t open_ = 0;                                     // GUARDED_BY(mu_)
  uint64_t retries_ = 0;                                // GUARDED_BY(mu_)
  const std::function<int64_t()> local_clock_ms_;
  std::atomic<int64_t> clock_offset_ms_{0};
  std::atomic<int64_t> clock_measured_ms_{0};  // steady clock, ms
  std::mutex lock_mu_;
  std::unique_ptr<pg::Connection> lock_conn_;  // GUARDED_BY(lock_mu_)
  uint64_t lock_generation_ = 0;  // GUARDED_BY(lock_mu_): bumped on every new lock connection
};

}  // namespace arca
