// SqlMetaStore: the whole-store reads and repairs that `arca fsck` needs, and the store's
// identity.
#include <ctime>

#include "meta/sql/sql_conn.h"
#include "meta/sql/sql_meta_store.h"

namespace arca {

using sql::Connection;

// The whole-store walks go in keyset pages: a page is all that a client library holds at once
// (libpq keeps a whole result), each page is one retryable read, and no connection stays taken
// while the callbacks run.
Status SqlMetaStore::ForEachBlob(const std::function<void(const std::string&, uint64_t)>& fn) {
  constexpr int64_t kPage = 1000;
  std::string after;
  for (;;) {
    auto page = Reading([&](Connection& c) -> Result<std::vector<std::pair<std::string, int64_t>>> {
      ARCA_PREPARE(q, c, "SELECT digest, size FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?");
      std::vector<std::pair<std::string, int64_t>> rows;
      q.Bind(1, after).Bind(2, kPage);
      while (q.Step()) rows.emplace_back(q.Text(0), q.Int(1));
      ARCA_RETURN_IF_ERROR(q.status());
      return rows;
    });
    if (!page.ok()) return page.status();
    for (const auto& [digest, size] : *page) fn(digest, static_cast<uint64_t>(size));
    if (static_cast<int64_t>(page->size()) < kPage) return Status::Ok();
    after = page->back().first;
  }
}

Result<std::vector<DanglingReference>> SqlMetaStore::FindDanglingReferences() {
  return Reading([&](sql::Connection& c) -> Result<std::vector<DanglingReference>> {
    ARCA_PREPARE(q, c,
                 "SELECT r.name, m.digest, mr.digest, mr.kind, "
                 "EXISTS (SELECT 1 FROM blobs b WHERE b.digest = mr.digest) "
                 "FROM manifest_references mr JOIN manifests m ON m.id = mr.manifest_id "
                 "JOIN repositories r ON r.id = m.repository_id WHERE mr.is_foreign = 0 AND "
                 "((mr.kind IN (0, 1) AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE "
                 "rb.repository_id = m.repository_id AND rb.digest = mr.digest)) OR "
                 "(mr.kind = 2 AND NOT EXISTS (SELECT 1 FROM manifests c WHERE "
                 "c.repository_id = m.repository_id AND c.digest = mr.digest) AND NOT EXISTS "
                 "(SELECT 1 FROM trash t WHERE t.repository_id = m.repository_id AND "
                 "t.digest = mr.digest))) "
                 "ORDER BY r.name, m.digest, mr.position");
    std::vector<DanglingReference> out;
    while (q.Step()) {
      out.push_back({q.Text(0), q.Text(1), q.Text(2), static_cast<int>(q.Int(3)),
                     q.Int(3) != 2 && q.Int(4) != 0});
    }
    ARCA_RETURN_IF_ERROR(q.status());
    return out;
  });
}

Result<std::vector<std::string>> SqlMetaStore::ListUploadIds() {
  return Reading([&](sql::Connection& c) -> Result<std::vector<std::string>> {
    ARCA_PREPARE(q, c, "SELECT id FROM uploads");
    std::vector<std::string> out;
    while (q.Step()) out.push_back(q.Text(0));
    ARCA_RETURN_IF_ERROR(q.status());
    return out;
  });
}

Status SqlMetaStore::ForEachManifest(
    const std::function<void(const std::string&, const std::string&, const std::string&)>& fn) {
  constexpr int64_t kPage = 64;  // a manifest may be 4 MiB: 256 MiB held at worst
  struct Row {
    std::string repo, digest, content;
  };
  int64_t after = 0;
  for (;;) {
    auto page = Reading([&](Connection& c) -> Result<std::vector<Row>> {
      ARCA_PREPARE(q, c,
                   "SELECT r.name, m.digest, m.content, m.id FROM manifests m JOIN repositories r "
                   "ON r.id = m.repository_id WHERE m.id > ? ORDER BY m.id LIMIT ?");
      std::vector<Row> rows;
      q.Bind(1, after).Bind(2, kPage);
      int64_t last = after;
      while (q.Step()) {
        rows.push_back({q.Text(0), q.Text(1), q.Text(2)});
        last = q.Int(3);
      }
      ARCA_RETURN_IF_ERROR(q.status());
      after = last;  // only once the page is whole: a retried read starts where this one did
      return rows;
    });
    if (!page.ok()) return page.status();
    for (const Row& r : *page) fn(r.repo, r.digest, r.content);
    if (static_cast<int64_t>(page->size()) < kPage) return Status::Ok();
  }
}

Result<std::optional<StoreIdentity>> SqlMetaStore::GetStoreIdentity() {
  return Reading([&](sql::Connection& c) -> Result<std::optional<StoreIdentity>> {
    ARCA_PREPARE(q, c, "SELECT id, schema_version FROM store_identity LIMIT 1");
    if (q.Step()) return std::optional<StoreIdentity>(StoreIdentity{q.Text(0), q.Int(1)});
    ARCA_RETURN_IF_ERROR(q.status());
    return std::optional<StoreIdentity>();
  });
}

Status SqlMetaStore::SetStoreIdentity(const StoreIdentity& identity) {
  return WriteTransaction([&](Connection& c) -> Status {
    {
      ARCA_PREPARE(d, c, "DELETE FROM store_identity");
      ARCA_RETURN_IF_ERROR(d.Exec());
    }
    ARCA_PREPARE(i, c, "INSERT INTO store_identity(id, schema_version, written_at) VALUES(?, ?, ?)");
    return i.Bind(1, identity.id).Bind(2, identity.schema_version)
        .Bind(3, Now()).Exec();
  });
}

Result<bool> SqlMetaStore::HoldsRecords() {
  return Reading([&](sql::Connection& c) -> Result<bool> {
    ARCA_PREPARE(q, c,
                 "SELECT EXISTS (SELECT 1 FROM repositories) OR EXISTS (SELECT 1 FROM blobs) OR "
                 "EXISTS (SELECT 1 FROM manifests) OR EXISTS (SELECT 1 FROM events)");
    bool any = q.Step() && q.Int(0) != 0;
    ARCA_RETURN_IF_ERROR(q.status());
    return any;
  });
}

Status SqlMetaStore::ForgetBlob(const std::string& digest) {
  return WriteTransaction([&](Connection& c) -> Status {
    {
      ARCA_PREPARE(d, c, "DELETE FROM repository_blobs WHERE digest = ?");
      ARCA_RETURN_IF_ERROR(d.Bind(1, digest).Exec());
    }
    ARCA_PREPARE(d, c, "DELETE FROM blobs WHERE digest = ?");
    return d.Bind(1, digest).Exec();
  });
}

Status SqlMetaStore::RelinkBlob(const std::string& repo, const std::string& digest) {
  return WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(l, c,
                 "INSERT INTO repository_blobs(repository_id, digest, created_at) SELECT id, ?, ? "
                 "FROM repositories WHERE name = ? ON CONFLICT DO NOTHING");
    return l.Bind(1, digest).Bind(2, Now()).Bind(3, repo).Exec();
  });
}

}  // namespace arca
