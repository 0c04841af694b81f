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

#include "meta/meta_store.h"

namespace arca {
namespace sqlite {
class Connection;
}

class SqliteMetaStore : public MetaStore {
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

  Result<bool> RepositoryExists(const std::string& repo) override;
  Result<Page<std::string>> ListRepositories(const std::string& after, size_t limit) override;
  Status LinkBlob(const std::string& repo, const std::string& digest, uint64_t size,
                  const std::string& finished_upload = "") override;
  Result<std::optional<uint64_t>> BlobInRepository(const std::string& repo,
                                                   const std::string& digest) override;
  Result<std::optional<BlobLink>> FindBlobLink(const std::string& repo,
                                               const std::string& digest) override;
  Result<bool> RenewBlobLink(const std::string& repo, const std::string& digest,
                             int64_t now) override;
  Result<std::optional<uint64_t>> MountBlob(const std::string& repo, const std::string& digest,
                                            const std::string& from) override;
  Result<Page<std::string>> ListBlobHolders(const std::string& digest, const std::string& after,
                                            size_t limit) override;
  Result<bool> UnlinkBlob(const std::string& repo, const std::string& digest) override;
  Status CreateUpload(const UploadRecord& upload) override;
  Result<std::optional<UploadRecord>> GetUpload(const std::string& id) override;
  Result<bool> AdvanceUpload(const std::string& id, uint64_t expected_offset,
                             const UploadRecord& next) override;
  Status DeleteUpload(const std::string& id) override;
  Status PutManifest(const std::string& repo, const NewManifest& manifest) override;
  Result<std::optional<ManifestRecord>> GetManifest(const std::string& repo,
                                                    const std::string& digest) override;
  Result<std::optional<ManifestRecord>> GetTaggedManifest(const std::string& repo,
                                                          const std::string& tag) override;
  Result<bool> DeleteManifest(const std::string& repo, const std::string& digest,
                              int64_t retention) override;
  Result<bool> DeleteTag(const std::string& repo, const std::string& tag,
                         int64_t retention) override;
  Result<std::optional<int64_t>> TagsGeneration(const std::string& repo) override;
  Result<Page<std::string>> ListTags(const std::string& repo, const std::string& after,
                                     size_t limit) override;
  Result<Page<ArtifactSummary>> ListArtifacts(const std::string& repo, const std::string& type,
                                              const std::string& after, size_t limit) override;
  Result<Page<RepositorySummary>> ListTypedRepositories(const std::string& type,
                                                        const std::string& after,
                                                        size_t limit) override;
  Status RecordEvent(const Event& event) override;
  Result<Page<Event>> ListEvents(int64_t after_id, size_t limit) override;
  Result<Page<ManifestRecord>> ListReferrers(const std::string& repo, const std::string& subject,
                                             const std::string& artifact_type,
                                             const std::string& after, size_t limit) override;

  // sqlite_gc.cc
  Result<Page<TrashEntry>> ListTrash(const std::string& repo, const std::string& after,
                                     size_t limit, int64_t now) override;
  Result<std::optional<TrashEntry>> GetTrash(const std::string& repo, const std::string& digest,
                                             int64_t now) override;
  Result<bool> ExpireTrash(const std::string& repo, const std::string& digest,
                           int64_t now) override;
  Result<GcStep> CollectStep(const GcOptions& options) override;
  Result<GcStep> CollectDryRun(const GcOptions& options, size_t max_actions) override;
  Result<std::vector<std::string>> PendingBlobDeletions(size_t limit) override;
  Result<bool> BlobRecorded(const std::string& digest) override;
  Status BlobBytesDeleted(const std::string& digest) override;
  // sqlite_fsck.cc
  Result<std::optional<StoreIdentity>> GetStoreIdentity() override;
  Status SetStoreIdentity(const StoreIdentity& identity) override;
  Result<bool> HoldsRecords() override;
  Status ForEachBlob(const std::function<void(const std::string&, uint64_t)>& fn) override;
  Result<std::vector<DanglingReference>> FindDanglingReferences() override;
  Result<std::vector<std::string>> ListUploadIds() override;
  Status ForEachManifest(const std::function<void(const std::string&, const std::string&,
                                                  const std::string&)>& fn) override;
  Status ForgetBlob(const std::string& digest) override;
  Status RelinkBlob(const std::string& repo, const std::string& digest) override;

 private:
  // A pooled read connection, returned to the pool on destruction.
  class Reader {
   public:
    Reader(SqliteMetaStore* store, std::unique_ptr<sqlite::Connection> c);
    Reader(Reader&& o) noexcept;
    ~Reader();
    sqlite::Connection& operator*() { return *c_; }

   private:
    SqliteMetaStore* store_;
    std::unique_ptr<sqlite::Connection> c_;
  };
  SqliteMetaStore(std::string path, const Options& options);
  // A connection from the pool: an idle one, a new one while fewer than max_readers are
  // open, or the next one released (waiting up to reader_wait_ms). Callers must not hold
  // one Reader while acquiring another: with the pool exhausted that would wait on itself.
  Result<Reader> AcquireReader();
  void ReleaseReader(std::unique_ptr<sqlite::Connection> c);
  // Before each write batch: is the file at path_ still the one the writer has open? Once it
  // is not, marks the database lost (and says so loudly on stderr).
  bool DatabaseMoved();
  // Runs fn in a write transaction and returns once it is durable. Concurrent callers are
  // committed together (group commit): one caller leads, running every waiting fn in its own
  // savepoint (a failing fn is rolled back alone) inside one BEGIN ... COMMIT, so one fsync
  // serves them all.
  Status WriteTransaction(const std::function<Status(sqlite::Connection&)>& fn);
  // Refuses a schema an applied step makes too new for this build; applies pending steps
  // (migrate) or refuses to go on without them.
  static Status CheckSchema(sqlite::Connection& c, bool migrate);
  struct PendingWrite;
  void RunBatch(const std::vector<PendingWrite*>& batch);
  Status LinkAndQueue(sqlite::Connection& c, int64_t repo_id, const std::string& digest,
                      int64_t now);
  Status BumpTagsGeneration(sqlite::Connection& c, int64_t repo_id);
  Result<int64_t> EnsureRepository(sqlite::Connection& c, const std::string& repo, int64_t now);
  // Checks m's references; is_foreign gets, per ref, whether it is absent and accepted so.
  Status CheckReferences(sqlite::Connection& c, int64_t repo_id, const NewManifest& m,
                         std::vector<bool>& is_foreign);
  Status UpdateRecycleBin(sqlite::Connection& c, int64_t repo_id, int64_t manifest_id,
                          const NewManifest& m, const std::vector<std::string>& tagged,
                          const std::vector<std::string>& skipped,
                          const std::map<int64_t, std::vector<std::string>>& moved_from,
                          int64_t now);

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
  std::vector<std::unique_ptr<sqlite::Connection>> idle_readers_;  // GUARDED_BY(pool_mu_)
  size_t open_readers_ = 0;                                         // GUARDED_BY(pool_mu_)
  size_t peak_readers_ = 0;                                         // GUARDED_BY(pool_mu_)
};

}  // namespace arca
