// The MetaStore written once in SQL, over the connection interface of meta/sql/sql_conn.h:
// registry rules (references, tags, the recycle bin, GC review) live here, and each database
// is a thin shim that says how connections are lent and how a write transaction runs
// (meta/sqlite: group commit on one writer; meta/postgres: a pool and SERIALIZABLE with retry).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "meta/meta_store.h"
#include "meta/sql/sql_conn.h"

namespace arca {

class SqlMetaStore : public MetaStore {
 public:
  // The SQL dialect: the few statements that differ are chosen by it.
  enum class Dialect { kSqlite, kPostgres };

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

  int64_t Clock() override { return Now(); }
  Result<bool> TakeLease(const std::string& name, const std::string& holder,
                         int64_t ttl) override;
  Status ReleaseLease(const std::string& name, const std::string& holder) override;

  // sql_settings.cc
  Result<int64_t> SettingsVersion() override;
  Status CheckWritable() override;
  Result<std::vector<TypeDefinitionRecord>> ListTypeDefinitions() override;
  Result<bool> PutTypeDefinition(const TypeDefinitionRecord& d) override;
  Result<bool> DeleteTypeDefinition(const std::string& id) override;
  Result<std::optional<std::string>> GetSetting(const std::string& name) override;
  Status PutSetting(const std::string& name, const std::optional<std::string>& value) override;

  // sql_gc.cc
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
  // sql_fsck.cc
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

 protected:
  explicit SqlMetaStore(Dialect dialect) : dialect_(dialect) {}
  // A read connection for one call. Callers must not hold one lease while acquiring another:
  // with the pool exhausted that would wait on itself.
  virtual Result<sql::Lease> AcquireReader() = 0;
  // Runs fn on a read connection. A shim may run it again, on another connection, when the
  // first was lost in the middle (PostgreSQL restarting), so fn sets its outputs afresh and
  // has no effect outside them. The default runs it once.
  virtual Status Read(const std::function<Status(sql::Connection&)>& fn);
  // Read for a function returning a Result: that Result (or why no connection was had).
  template <typename F>
  std::invoke_result_t<F, sql::Connection&> Reading(F&& fn) {
    std::optional<std::invoke_result_t<F, sql::Connection&>> out;
    Status s = Read([&](sql::Connection& c) -> Status {
      out.emplace(fn(c));
      return out->status();
    });
    if (!out) return s;
    return std::move(*out);
  }
  // Runs fn in one write transaction and returns once it is durable; fn's error rolls back
  // what it did. fn may run more than once (a shim retries a transaction the database
  // aborted), so it must set its outputs afresh on each run.
  virtual Status WriteTransaction(const std::function<Status(sql::Connection&)>& fn) = 0;
  // The time, in whole seconds since the epoch, that records are stamped with.
  virtual int64_t Now() const;

  Dialect dialect() const { return dialect_; }

 private:
  Status LinkAndQueue(sql::Connection& c, int64_t repo_id, const std::string& digest,
                      int64_t now);
  Status BumpTagsGeneration(sql::Connection& c, int64_t repo_id);
  Result<int64_t> EnsureRepository(sql::Connection& c, const std::string& repo, int64_t now);
  // Checks m's references; is_foreign gets, per ref, whether it is absent and accepted so.
  Status CheckReferences(sql::Connection& c, int64_t repo_id, const NewManifest& m,
                         std::vector<bool>& is_foreign);
  Status UpdateRecycleBin(sql::Connection& c, int64_t repo_id, int64_t manifest_id,
                          const NewManifest& m, const std::vector<std::string>& tagged,
                          const std::vector<std::string>& skipped,
                          const std::map<int64_t, std::vector<std::string>>& moved_from,
                          int64_t now);

  const Dialect dialect_;
};

}  // namespace arca
