// SqlMetaStore: repositories, blob links and uploads.
#include <ctime>

#include "meta/sql/gc_rows.h"
#include "meta/sql/name_page.h"
#include "meta/sql/sql_meta_store.h"

namespace arca {

using sql::Connection;

int64_t SqlMetaStore::Now() const { return static_cast<int64_t>(std::time(nullptr)); }

Result<int64_t> SqlMetaStore::EnsureRepository(Connection& c, const std::string& repo,
                                                  int64_t now) {
  {
    ARCA_PREPARE(q, c, "SELECT id FROM repositories WHERE name = ?");
    q.Bind(1, repo);
    if (q.Step()) return q.Int(0);
    ARCA_RETURN_IF_ERROR(q.status());
  }
  ARCA_PREPARE(ins, c, "INSERT INTO repositories(name, created_at) VALUES(?, ?) RETURNING id");
  if (ins.Bind(1, repo).Bind(2, now).Step()) {
    int64_t id = ins.Int(0);
    ARCA_RETURN_IF_ERROR(ins.Exec());  // finishes the statement
    return id;
  }
  ARCA_RETURN_IF_ERROR(ins.status());
  return Status(ErrorCode::kInternal, "metadata error", "repository insert returned no id");
}

Status SqlMetaStore::Read(const std::function<Status(sql::Connection&)>& fn) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  return fn(**r);
}

Result<bool> SqlMetaStore::RepositoryExists(const std::string& repo) {
  return Reading([&](sql::Connection& c) -> Result<bool> {
    ARCA_PREPARE(q, c, "SELECT 1 FROM repositories WHERE name = ?");
    bool found = q.Bind(1, repo).Step();
    ARCA_RETURN_IF_ERROR(q.status());
    return found;
  });
}

Result<Page<std::string>> SqlMetaStore::ListRepositories(const std::string& after,
                                                           size_t limit) {
  return Reading([&](sql::Connection& c) -> Result<Page<std::string>> {
    ARCA_PREPARE(q, c, "SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?");
    q.Bind(1, after).Bind(2, static_cast<int64_t>(limit) + 1);
    return sql::NamePage(q, limit);
  });
}

Status SqlMetaStore::LinkBlob(const std::string& repo, const std::string& digest,
                                 uint64_t size, const std::string& finished_upload) {
  return WriteTransaction([&](Connection& c) -> Status {
    int64_t now = Now();
    auto id = EnsureRepository(c, repo, now);
    if (!id.ok()) return id.status();
    ARCA_PREPARE(b, c, "INSERT INTO blobs(digest, size, created_at) VALUES(?, ?, ?) "
                       "ON CONFLICT(digest) DO NOTHING");
    ARCA_RETURN_IF_ERROR(b.Bind(1, digest).Bind(2, static_cast<int64_t>(size)).Bind(3, now).Exec());
    ARCA_RETURN_IF_ERROR(LinkAndQueue(c, *id, digest, now));
    if (finished_upload.empty()) return Status::Ok();
    ARCA_PREPARE(d, c, "DELETE FROM uploads WHERE id = ?");
    return d.Bind(1, finished_upload).Exec();
  });
}

Result<std::optional<uint64_t>> SqlMetaStore::BlobInRepository(const std::string& repo,
                                                                  const std::string& digest) {
  return Reading([&](sql::Connection& c) -> Result<std::optional<uint64_t>> {
    ARCA_PREPARE(q, c,
                 "SELECT b.size FROM repository_blobs rb JOIN repositories r ON r.id = "
                 "rb.repository_id JOIN blobs b ON b.digest = rb.digest "
                 "WHERE r.name = ? AND rb.digest = ?");
    if (q.Bind(1, repo).Bind(2, digest).Step()) {
      return std::optional<uint64_t>(static_cast<uint64_t>(q.Int(0)));
    }
    ARCA_RETURN_IF_ERROR(q.status());
    return std::optional<uint64_t>();
  });
}

Result<std::optional<BlobLink>> SqlMetaStore::FindBlobLink(const std::string& repo,
                                                             const std::string& digest) {
  return Reading([&](sql::Connection& c) -> Result<std::optional<BlobLink>> {
    ARCA_PREPARE(q, c,
                 "SELECT b.size, rb.created_at FROM repository_blobs rb JOIN repositories r ON "
                 "r.id = rb.repository_id JOIN blobs b ON b.digest = rb.digest "
                 "WHERE r.name = ? AND rb.digest = ?");
    if (q.Bind(1, repo).Bind(2, digest).Step()) {
      return std::optional<BlobLink>(BlobLink{static_cast<uint64_t>(q.Int(0)), q.Int(1)});
    }
    ARCA_RETURN_IF_ERROR(q.status());
    return std::optional<BlobLink>();
  });
}

Result<bool> SqlMetaStore::RenewBlobLink(const std::string& repo, const std::string& digest,
                                            int64_t now) {
  bool held = false;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(u, c,
                 "UPDATE repository_blobs SET created_at = CASE WHEN created_at > ?3 THEN created_at "
                 "ELSE ?3 END WHERE digest = ?2 "
                 "AND repository_id = (SELECT id FROM repositories WHERE name = ?1) RETURNING 1");
    held = u.Bind(1, repo).Bind(2, digest).Bind(3, now).Step();
    while (u.Step()) {
    }
    return u.status();
  });
  if (!s.ok()) return s;
  return held;
}

Result<std::optional<uint64_t>> SqlMetaStore::MountBlob(const std::string& repo,
                                                           const std::string& digest,
                                                           const std::string& from) {
  std::optional<uint64_t> size;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    size.reset();
    ARCA_PREPARE(q, c,
                 "SELECT b.size FROM repository_blobs rb JOIN repositories r ON r.id = "
                 "rb.repository_id JOIN blobs b ON b.digest = rb.digest "
                 "WHERE rb.digest = ?1 AND (?2 = '' OR r.name = ?2) LIMIT 1");
    if (!q.Bind(1, digest).Bind(2, from).Step()) return q.status();
    size = static_cast<uint64_t>(q.Int(0));
    int64_t now = Now();
    auto id = EnsureRepository(c, repo, now);
    if (!id.ok()) return id.status();
    return LinkAndQueue(c, *id, digest, now);
  });
  if (!s.ok()) return s;
  return size;
}

Result<Page<std::string>> SqlMetaStore::ListBlobHolders(const std::string& digest,
                                                          const std::string& after,
                                                          size_t limit) {
  return Reading([&](sql::Connection& c) -> Result<Page<std::string>> {
    ARCA_PREPARE(q, c,
                 "SELECT r.name FROM repository_blobs rb JOIN repositories r ON r.id = "
                 "rb.repository_id WHERE rb.digest = ? AND r.name > ? ORDER BY r.name LIMIT ?");
    q.Bind(1, digest).Bind(2, after).Bind(3, static_cast<int64_t>(limit) + 1);
    return sql::NamePage(q, limit);
  });
}

Result<bool> SqlMetaStore::UnlinkBlob(const std::string& repo, const std::string& digest) {
  bool removed = false;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    removed = false;
    ARCA_PREPARE(q, c,
                 "DELETE FROM repository_blobs WHERE digest = ? AND repository_id = "
                 "(SELECT id FROM repositories WHERE name = ?) RETURNING repository_id");
    if (!q.Bind(1, digest).Bind(2, repo).Step()) return q.status();
    int64_t repo_id = q.Int(0);
    while (q.Step()) {
    }
    ARCA_RETURN_IF_ERROR(q.status());
    removed = true;
    // Its bytes may now be held by no one.
    return sql::Enqueue(c, Now(), sql::kQueueBlobLink, repo_id, digest);
  });
  if (!s.ok()) return s;
  return removed;
}

// A push or mount (re)starts the blob's grace period in the repository, and queues a review
// of it: the blob goes if no manifest comes to reference it.
Status SqlMetaStore::LinkAndQueue(Connection& c, int64_t repo_id, const std::string& digest,
                                     int64_t now) {
  ARCA_PREPARE(l, c, "INSERT INTO repository_blobs(repository_id, digest, created_at) "
                     "VALUES(?, ?, ?) ON CONFLICT(repository_id, digest) DO UPDATE "
                     "SET created_at = excluded.created_at");
  ARCA_RETURN_IF_ERROR(l.Bind(1, repo_id).Bind(2, digest).Bind(3, now).Exec());
  return sql::Enqueue(c, now, sql::kQueueBlobLink, repo_id, digest);
}

Status SqlMetaStore::CreateUpload(const UploadRecord& u) {
  return WriteTransaction([&](Connection& c) -> Status {
    auto id = EnsureRepository(c, u.repository, u.started_at);
    if (!id.ok()) return id.status();
    ARCA_PREPARE(ins, c,
                 "INSERT INTO uploads(id, repository_id, byte_offset, hash_state, started_at, "
                 "updated_at, backend_id, parts) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    return ins.Bind(1, u.id).Bind(2, *id).Bind(3, static_cast<int64_t>(u.offset))
        .BindBlob(4, u.hash_state).Bind(5, u.started_at).Bind(6, u.updated_at)
        .Bind(7, u.backend_id).Bind(8, u.parts).Exec();
  });
}

Result<std::optional<UploadRecord>> SqlMetaStore::GetUpload(const std::string& id) {
  return Reading([&](sql::Connection& c) -> Result<std::optional<UploadRecord>> {
    ARCA_PREPARE(q, c,
                 "SELECT r.name, u.byte_offset, u.hash_state, u.started_at, u.updated_at, "
                 "u.backend_id, u.parts "
                 "FROM uploads u JOIN repositories r ON r.id = u.repository_id WHERE u.id = ?");
    if (!q.Bind(1, id).Step()) {
      ARCA_RETURN_IF_ERROR(q.status());
      return std::optional<UploadRecord>();
    }
    UploadRecord u{id,        q.Text(0), static_cast<uint64_t>(q.Int(1)), q.Text(2), q.Int(3),
                   q.Int(4), q.Text(5), q.Text(6)};
    return std::optional<UploadRecord>(std::move(u));
  });
}

Result<bool> SqlMetaStore::AdvanceUpload(const std::string& id, uint64_t expected_offset,
                                            const UploadRecord& next) {
  bool moved = false;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(u, c,
                 "UPDATE uploads SET byte_offset = ?, hash_state = ?, updated_at = ?, "
                 "backend_id = ?, parts = ? WHERE id = ? AND byte_offset = ?");
    ARCA_RETURN_IF_ERROR(u.Bind(1, static_cast<int64_t>(next.offset)).BindBlob(2, next.hash_state)
                             .Bind(3, next.updated_at).Bind(4, next.backend_id).Bind(5, next.parts)
                             .Bind(6, id).Bind(7, static_cast<int64_t>(expected_offset))
                             .Exec());
    moved = c.Changes() > 0;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return moved;
}

Status SqlMetaStore::DeleteUpload(const std::string& id) {
  return WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(d, c, "DELETE FROM uploads WHERE id = ?");
    return d.Bind(1, id).Exec();
  });
}

Result<bool> SqlMetaStore::TakeLease(const std::string& name, const std::string& holder,
                                     int64_t ttl) {
  bool held = false;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    int64_t now = Now();
    ARCA_PREPARE(q, c,
                 "INSERT INTO leases(name, holder, expires_at) VALUES(?1, ?2, ?3) "
                 "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
                 "expires_at = excluded.expires_at "
                 "WHERE leases.holder = excluded.holder OR leases.expires_at < ?4 "
                 "RETURNING holder");
    held = q.Bind(1, name).Bind(2, holder).Bind(3, now + ttl).Bind(4, now).Step();
    ARCA_RETURN_IF_ERROR(q.status());
    if (held) return q.Exec();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return held;
}

Status SqlMetaStore::ReleaseLease(const std::string& name, const std::string& holder) {
  return WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(d, c, "DELETE FROM leases WHERE name = ? AND holder = ?");
    return d.Bind(1, name).Bind(2, holder).Exec();
  });
}

}  // namespace arca
