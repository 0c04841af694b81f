// SqlMetaStore: the recycle bin and the garbage collector's decisions (docs/gc.md). Each
// batch reads only due work, through the indexes on trash.expires_at and gc_queue.due_at, and
// decides every object with indexed lookups.
#include <map>

#include "meta/sql/gc_rows.h"
#include "meta/sql/sql_conn.h"
#include "meta/sql/sql_meta_store.h"

namespace arca {

using sql::Connection;

namespace {

struct Pass {
  Connection& c;
  const GcOptions& o;
  GcStep& step;
  std::map<int64_t, std::string> names;

  std::string Name(int64_t repo_id) {
    auto it = names.find(repo_id);
    if (it != names.end()) return it->second;
    auto q = c.Prepare("SELECT name FROM repositories WHERE id = ?");
    std::string name;
    if (q.ok() && (*q)->Bind(1, repo_id).Step()) name = (*q)->Text(0);
    return names[repo_id] = name;
  }
  Status Act(const char* action, int64_t repo_id, const std::string& digest, std::string reason,
             uint64_t bytes = 0) {
    step.actions.push_back({action, repo_id ? Name(repo_id) : "", digest, std::move(reason), bytes});
    const GcAction& a = step.actions.back();
    if (a.action != "delete-manifest" && a.action != "purge-manifest") return Status::Ok();
    // Followers of /arca/v1/events learn what left the registry and why, in the same
    // transaction as the deletion.
    ARCA_PREPARE(e, c,
                 "INSERT INTO events(time, kind, repository, digest, message, principal, "
                 "request_id) VALUES(?, 'gc.delete', ?, ?, ?, ?, ?)");
    return e.Bind(1, o.now).Bind(2, a.repository).Bind(3, a.digest).Bind(4, a.reason)
        .Bind(5, o.principal).Bind(6, o.request_id).Exec();
  }
};

Result<bool> Exists(Connection& c, const char* sql, int64_t repo_id, const std::string& digest) {
  auto q = c.Prepare(sql);
  if (!q.ok()) return q.status();
  bool found = (*q)->Bind(1, repo_id).Bind(2, digest).Step();
  ARCA_RETURN_IF_ERROR((*q)->status());
  return found;
}

// A blob a manifest of the repository (stored or in the recycle bin) references.
Result<bool> BlobReferencedIn(Connection& c, int64_t repo_id, const std::string& digest) {
  auto live = Exists(c,
                     "SELECT 1 FROM manifest_references WHERE repository_id = ?1 AND digest = ?2 "
                     "AND kind IN (0, 1) LIMIT 1",
                     repo_id, digest);
  if (!live.ok() || *live) return live;
  return Exists(c,
                "SELECT 1 FROM trash_references WHERE repository_id = ?1 AND digest = ?2 "
                "AND kind IN (0, 1) LIMIT 1",
                repo_id, digest);
}

// Whether a stored manifest is kept: tagged, referenced by an index of its repository, a
// referrer of a present subject, or in the recycle bin and not yet expired.
Result<bool> Kept(Pass& p, int64_t repo_id, int64_t manifest_id, const std::string& digest,
                  const std::string& subject) {
  {
    ARCA_PREPARE(q, p.c, "SELECT 1 FROM tags WHERE manifest_id = ? LIMIT 1");
    if (q.Bind(1, manifest_id).Step()) return true;
    ARCA_RETURN_IF_ERROR(q.status());
  }
  auto referenced = sql::ManifestReferenced(p.c, repo_id, digest);
  if (!referenced.ok() || *referenced) return referenced;
  if (!subject.empty()) {
    auto present = Exists(p.c, "SELECT 1 FROM manifests WHERE repository_id = ?1 AND digest = ?2",
                          repo_id, subject);
    if (!present.ok() || *present) return present;
    auto trashed = Exists(p.c, "SELECT 1 FROM trash WHERE repository_id = ?1 AND digest = ?2",
                          repo_id, subject);
    if (!trashed.ok() || *trashed) return trashed;
  }
  ARCA_PREPARE(q, p.c, "SELECT 1 FROM trash WHERE repository_id = ? AND digest = ? AND expires_at >= ?");
  bool binned = q.Bind(1, repo_id).Bind(2, digest).Bind(3, p.o.now).Step();
  ARCA_RETURN_IF_ERROR(q.status());
  return binned;
}

// What a manifest deleted for good leaves to review: its blobs and children now, and its
// referrers when they are collected with their subject.
Status QueueOrphans(Pass& p, int64_t repo_id, const std::string& digest,
                    std::vector<std::pair<int64_t, std::string>> refs) {
  p.step.more = true;  // due now: this pass goes on to review them
  for (const auto& [kind, d] : refs) {
    ARCA_RETURN_IF_ERROR(sql::Enqueue(p.c, p.o.now,
                                         kind == 2 ? sql::kQueueManifest : sql::kQueueBlobLink,
                                         repo_id, d));
  }
  if (!p.o.referrers) return Status::Ok();
  std::vector<std::string> referrers;
  {
    ARCA_PREPARE(q, p.c, "SELECT digest FROM manifests WHERE repository_id = ? AND subject_digest = ?");
    q.Bind(1, repo_id).Bind(2, digest);
    while (q.Step()) referrers.push_back(q.Text(0));
    ARCA_RETURN_IF_ERROR(q.status());
  }
  for (const auto& r : referrers) {
    ARCA_RETURN_IF_ERROR(sql::Enqueue(p.c, p.o.now, sql::kQueueManifest, repo_id, r));
  }
  return Status::Ok();
}

Status DeleteStoredManifest(Pass& p, int64_t repo_id, int64_t manifest_id,
                            const std::string& digest, std::string reason) {
  std::vector<std::pair<int64_t, std::string>> refs;
  uint64_t size = 0;
  {
    ARCA_PREPARE(q, p.c, "SELECT kind, digest FROM manifest_references WHERE manifest_id = ?");
    q.Bind(1, manifest_id);
    while (q.Step()) refs.emplace_back(q.Int(0), q.Text(1));
    ARCA_RETURN_IF_ERROR(q.status());
  }
  {
    ARCA_PREPARE(q, p.c, "SELECT size FROM manifests WHERE id = ?");
    if (q.Bind(1, manifest_id).Step()) size = static_cast<uint64_t>(q.Int(0));
    ARCA_RETURN_IF_ERROR(q.status());
  }
  {
    ARCA_PREPARE(d, p.c, "DELETE FROM manifests WHERE id = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, manifest_id).Exec());
  }
  {
    ARCA_PREPARE(d, p.c, "DELETE FROM trash WHERE repository_id = ? AND digest = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
  }
  ARCA_RETURN_IF_ERROR(p.Act("delete-manifest", repo_id, digest, std::move(reason), size));
  return QueueOrphans(p, repo_id, digest, std::move(refs));
}

// With grace, a manifest pushed (or pushed again) within the blob grace period is kept: it was
// pushed by digest and an index that references it may be on its way. A manifest that was
// untagged gets its retention, not the grace.
Status ReviewManifest(Pass& p, int64_t repo_id, const std::string& digest, const char* reason,
                      bool grace) {
  int64_t manifest_id, pushed_at;
  std::string subject;
  {
    ARCA_PREPARE(q, p.c,
                 "SELECT id, subject_digest, pushed_at FROM manifests WHERE repository_id = ? "
                 "AND digest = ?");
    if (!q.Bind(1, repo_id).Bind(2, digest).Step()) return q.status();
    manifest_id = q.Int(0);
    subject = q.IsNull(1) ? "" : q.Text(1);
    pushed_at = q.Int(2);
  }
  auto kept = Kept(p, repo_id, manifest_id, digest, subject);
  if (!kept.ok()) return kept.status();
  if (*kept) return Status::Ok();
  // Pushed (or pushed again) within the grace period: an index that references it may be on
  // its way, as with blobs.
  if (grace && p.o.blob_grace > 0 && pushed_at + p.o.blob_grace >= p.o.now) {
    return sql::Enqueue(p.c, pushed_at + p.o.blob_grace + 1, sql::kQueueManifest, repo_id,
                           digest);
  }
  return DeleteStoredManifest(p, repo_id, manifest_id, digest, reason);
}

Status ReviewExpired(Pass& p, int64_t repo_id, const std::string& digest, const std::string& reason,
                     bool ever_tagged) {
  if (reason == "untagged") {
    {
      ARCA_PREPARE(d, p.c, "DELETE FROM trash WHERE repository_id = ? AND digest = ?");
      ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
    }
    return ReviewManifest(p, repo_id, digest, "untagged; retention passed", !ever_tagged);
  }
  std::vector<std::pair<int64_t, std::string>> refs;
  {
    ARCA_PREPARE(q, p.c,
                 "SELECT kind, digest FROM trash_references WHERE repository_id = ? AND "
                 "manifest_digest = ?");
    q.Bind(1, repo_id).Bind(2, digest);
    while (q.Step()) refs.emplace_back(q.Int(0), q.Text(1));
    ARCA_RETURN_IF_ERROR(q.status());
  }
  uint64_t size = 0;
  {
    ARCA_PREPARE(q, p.c, "SELECT size FROM trash WHERE repository_id = ? AND digest = ?");
    if (q.Bind(1, repo_id).Bind(2, digest).Step()) size = static_cast<uint64_t>(q.Int(0));
    ARCA_RETURN_IF_ERROR(q.status());
  }
  {
    ARCA_PREPARE(d, p.c, "DELETE FROM trash_references WHERE repository_id = ? AND manifest_digest = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
  }
  {
    ARCA_PREPARE(d, p.c, "DELETE FROM trash WHERE repository_id = ? AND digest = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
  }
  ARCA_RETURN_IF_ERROR(p.Act("purge-manifest", repo_id, digest, "deleted; retention passed", size));
  return QueueOrphans(p, repo_id, digest, std::move(refs));
}

Status ReviewBlobLink(Pass& p, int64_t repo_id, const std::string& digest) {
  auto referenced = BlobReferencedIn(p.c, repo_id, digest);
  if (!referenced.ok()) return referenced.status();
  if (*referenced) return Status::Ok();
  std::optional<int64_t> linked_at;
  {
    ARCA_PREPARE(q, p.c, "SELECT created_at FROM repository_blobs WHERE repository_id = ? AND digest = ?");
    if (q.Bind(1, repo_id).Bind(2, digest).Step()) linked_at = q.Int(0);
    ARCA_RETURN_IF_ERROR(q.status());
  }
  if (linked_at) {
    // Fresh: a manifest may still come. Whole seconds: kept until a second past the grace.
    if (p.o.blob_grace > 0 && *linked_at + p.o.blob_grace >= p.o.now) {
      return sql::Enqueue(p.c, *linked_at + p.o.blob_grace + 1, sql::kQueueBlobLink,
                             repo_id, digest);
    }
    ARCA_PREPARE(d, p.c, "DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
    ARCA_RETURN_IF_ERROR(p.Act("unlink-blob", repo_id, digest, "no manifest of the repository references it"));
  }
  // The bytes go when no repository holds them and no manifest anywhere references them.
  for (const char* sql : {"SELECT 1 FROM repository_blobs WHERE digest = ? LIMIT 1",
                          "SELECT 1 FROM manifest_references WHERE digest = ? AND kind IN (0, 1) LIMIT 1",
                          "SELECT 1 FROM trash_references WHERE digest = ? LIMIT 1"}) {
    auto q = p.c.Prepare(sql);
    if (!q.ok()) return q.status();
    bool found = (*q)->Bind(1, digest).Step();
    ARCA_RETURN_IF_ERROR((*q)->status());
    if (found) return Status::Ok();
  }
  uint64_t size = 0;
  {
    ARCA_PREPARE(q, p.c, "SELECT size FROM blobs WHERE digest = ?");
    if (!q.Bind(1, digest).Step()) return q.status();
    size = static_cast<uint64_t>(q.Int(0));
  }
  ARCA_PREPARE(d, p.c, "DELETE FROM blobs WHERE digest = ?");
  ARCA_RETURN_IF_ERROR(d.Bind(1, digest).Exec());
  ARCA_RETURN_IF_ERROR(p.Act("delete-blob", 0, digest, "no repository holds it", size));
  return sql::Enqueue(p.c, p.o.now, sql::kQueueBytes, 0, digest);
}

// One batch of each kind of due work. `more` is set when due work may remain: a full batch,
// or decisions that queued work due now (QueueOrphans).
Status Batch(Pass& p) {
  const int64_t limit = static_cast<int64_t>(p.o.batch);
  struct Row {
    int64_t id, repo_id;
    std::string digest, what;
    bool ever_tagged = false;
  };
  std::vector<Row> rows;
  {
    ARCA_PREPARE(q, p.c,
                 "SELECT repository_id, digest, reason, tags <> '[]' FROM trash WHERE "
                 "expires_at < ? ORDER BY expires_at LIMIT ?");
    q.Bind(1, p.o.now).Bind(2, limit);
    while (q.Step()) rows.push_back({0, q.Int(0), q.Text(1), q.Text(2), q.Int(3) != 0});
    ARCA_RETURN_IF_ERROR(q.status());
  }
  p.step.more |= rows.size() == p.o.batch;
  for (const Row& r : rows) {
    ARCA_RETURN_IF_ERROR(ReviewExpired(p, r.repo_id, r.digest, r.what, r.ever_tagged));
  }
  p.step.reviewed += rows.size();
  rows.clear();
  {
    ARCA_PREPARE(q, p.c,
                 "SELECT id, kind, repository_id, digest FROM gc_queue WHERE due_at <= ? "
                 "AND kind IN (1, 2) ORDER BY due_at LIMIT ?");
    q.Bind(1, p.o.now).Bind(2, limit);
    while (q.Step()) rows.push_back({q.Int(0), q.Int(2), q.Text(3), std::to_string(q.Int(1))});
    ARCA_RETURN_IF_ERROR(q.status());
  }
  p.step.more |= rows.size() == p.o.batch;
  for (const Row& r : rows) {
    {
      ARCA_PREPARE(d, p.c, "DELETE FROM gc_queue WHERE id = ?");
      ARCA_RETURN_IF_ERROR(d.Bind(1, r.id).Exec());
    }
    if (r.what == "1") {
      ARCA_RETURN_IF_ERROR(ReviewBlobLink(p, r.repo_id, r.digest));
    } else {
      ARCA_RETURN_IF_ERROR(ReviewManifest(p, r.repo_id, r.digest,
                                          "no tag, index or subject keeps it any more", true));
    }
  }
  p.step.reviewed += rows.size();
  rows.clear();
  {
    ARCA_PREPARE(q, p.c,
                 "SELECT id, repository_id, backend_id FROM uploads WHERE updated_at < ? "
                 "ORDER BY updated_at LIMIT ?");
    q.Bind(1, p.o.now - p.o.upload_ttl).Bind(2, limit);
    while (q.Step()) rows.push_back({0, q.Int(1), q.Text(0), q.Text(2)});
    ARCA_RETURN_IF_ERROR(q.status());
  }
  p.step.more |= rows.size() == p.o.batch;
  for (const Row& r : rows) {
    ARCA_PREPARE(d, p.c, "DELETE FROM uploads WHERE id = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, r.digest).Exec());
    p.step.uploads.push_back({r.digest, r.what});
    ARCA_RETURN_IF_ERROR(p.Act("delete-upload", r.repo_id, r.digest, "untouched for longer than the upload TTL"));
  }
  p.step.reviewed += rows.size();
  return Status::Ok();
}

}  // namespace

Result<GcStep> SqlMetaStore::CollectStep(const GcOptions& options) {
  GcStep step;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    step = GcStep{};
    Pass p{c, options, step, {}};
    return Batch(p);
  });
  if (!s.ok()) return s;
  return step;
}

Result<GcStep> SqlMetaStore::CollectDryRun(const GcOptions& options, size_t max_actions) {
  GcStep step;
  bool finished = false;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    step = GcStep{};
    finished = false;
    Pass p{c, options, step, {}};
    do {
      p.step.more = false;
      ARCA_RETURN_IF_ERROR(Batch(p));
    } while (p.step.more && p.step.actions.size() < max_actions &&
             p.step.reviewed < max_actions);
    finished = true;
    // Everything decided is undone: a dry run changes nothing.
    return Status(ErrorCode::kInternal, "dry run", "rolled back");
  });
  if (!finished) return s;
  if (step.actions.size() > max_actions) {
    step.actions.resize(max_actions);
    step.more = true;
  }
  return step;
}

Result<std::vector<std::string>> SqlMetaStore::PendingBlobDeletions(size_t limit) {
  return Reading([&](sql::Connection& c) -> Result<std::vector<std::string>> {
    ARCA_PREPARE(q, c, "SELECT DISTINCT digest FROM gc_queue WHERE kind = 3 LIMIT ?");
    q.Bind(1, static_cast<int64_t>(limit));
    std::vector<std::string> out;
    while (q.Step()) out.push_back(q.Text(0));
    ARCA_RETURN_IF_ERROR(q.status());
    return out;
  });
}

Result<bool> SqlMetaStore::BlobRecorded(const std::string& digest) {
  return Reading([&](sql::Connection& c) -> Result<bool> {
    ARCA_PREPARE(q, c, "SELECT 1 FROM blobs WHERE digest = ?");
    bool found = q.Bind(1, digest).Step();
    ARCA_RETURN_IF_ERROR(q.status());
    return found;
  });
}

Status SqlMetaStore::BlobBytesDeleted(const std::string& digest) {
  return WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(d, c, "DELETE FROM gc_queue WHERE kind = 3 AND digest = ?");
    return d.Bind(1, digest).Exec();
  });
}

// --- The recycle bin -----------------------------------------------------------------------

namespace {

TrashEntry ReadTrashRow(sql::Stmt& q, bool content) {
  TrashEntry e;
  e.digest = q.Text(0);
  e.reason = q.Text(1);
  e.tags = sql::ParseTagsJson(q.Text(2));
  e.media_type = q.Text(3);
  e.type = q.Text(4);
  e.size = static_cast<uint64_t>(q.Int(5));
  e.trashed_at = q.Int(6);
  e.expires_at = q.Int(7);
  if (content && !q.IsNull(8)) e.content = q.Text(8);
  return e;
}

}  // namespace

Result<Page<TrashEntry>> SqlMetaStore::ListTrash(const std::string& repo, const std::string& after,
                                                   size_t limit, int64_t now) {
  return Reading([&](sql::Connection& c) -> Result<Page<TrashEntry>> {
    ARCA_PREPARE(q, c,
                 "SELECT t.digest, t.reason, t.tags, t.media_type, t.type, t.size, t.trashed_at, "
                 "t.expires_at FROM trash t WHERE t.repository_id = (SELECT id FROM repositories "
                 "WHERE name = ?1) AND t.digest > ?2 AND t.expires_at >= ?3 AND NOT (t.reason = "
                 "'untagged' AND EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = "
                 "t.digest AND mr.repository_id = t.repository_id AND mr.kind = 2)) "
                 "ORDER BY t.digest LIMIT ?4");
    q.Bind(1, repo).Bind(2, after).Bind(3, now).Bind(4, static_cast<int64_t>(limit) + 1);
    Page<TrashEntry> page;
    while (q.Step()) page.items.push_back(ReadTrashRow(q, false));
    ARCA_RETURN_IF_ERROR(q.status());
    if (page.items.size() > limit) {
      page.items.pop_back();
      page.more = true;
    }
    return page;
  });
}

Result<std::optional<TrashEntry>> SqlMetaStore::GetTrash(const std::string& repo,
                                                           const std::string& digest, int64_t now) {
  return Reading([&](sql::Connection& c) -> Result<std::optional<TrashEntry>> {
    ARCA_PREPARE(q, c,
                 "SELECT t.digest, t.reason, t.tags, t.media_type, t.type, t.size, t.trashed_at, "
                 "t.expires_at, t.content FROM trash t JOIN repositories r ON r.id = t.repository_id "
                 "WHERE r.name = ? AND t.digest = ? AND t.expires_at >= ?");
    if (q.Bind(1, repo).Bind(2, digest).Bind(3, now).Step()) {
      return std::optional<TrashEntry>(ReadTrashRow(q, true));
    }
    ARCA_RETURN_IF_ERROR(q.status());
    return std::optional<TrashEntry>();
  });
}

Result<bool> SqlMetaStore::ExpireTrash(const std::string& repo, const std::string& digest,
                                          int64_t now) {
  bool changed = false;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(u, c,
                 "UPDATE trash SET expires_at = ?1 - 1 WHERE repository_id = (SELECT id FROM "
                 "repositories WHERE name = ?2) AND digest = ?3 AND expires_at >= ?1");
    ARCA_RETURN_IF_ERROR(u.Bind(1, now).Bind(2, repo).Bind(3, digest).Exec());
    changed = c.Changes() > 0;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return changed;
}

}  // namespace arca
