// SqlMetaStore: manifests, tags and referrers.
#include <algorithm>
#include <ctime>
#include <map>

#include "meta/sql/gc_rows.h"
#include "meta/sql/manifest_rows.h"
#include "meta/sql/name_page.h"
#include "meta/sql/sql_conn.h"
#include "meta/sql/sql_meta_store.h"

namespace arca {

using sql::Connection;
using sql::ReadManifestRow;
using sql::Stmt;

namespace {


Status BlobUnknown(const std::string& what, const Descriptor& d) {
  return Status(ErrorCode::kManifestBlobUnknown, "manifest references unknown content",
                what + " " + d.digest.str() + " is not in this repository");
}

Status SizeMismatch(const Descriptor& d, int64_t actual) {
  return Status(ErrorCode::kManifestInvalid, "manifest invalid",
                "descriptor " + d.digest.str() + " states size " + std::to_string(d.size) +
                    " but the stored content has " + std::to_string(actual) + " bytes");
}

}  // namespace

Status SqlMetaStore::CheckReferences(Connection& c, int64_t repo_id, const NewManifest& m,
                                        std::vector<bool>& is_foreign) {
  is_foreign.assign(m.refs.size(), false);
  for (size_t i = 0; i < m.refs.size(); ++i) {
    const ManifestRef& ref = m.refs[i];
    const Descriptor& d = ref.descriptor;
    std::optional<int64_t> size;
    if (ref.kind == RefKind::kManifest) {
      ARCA_PREPARE(q, c, "SELECT size FROM manifests WHERE repository_id = ? AND digest = ?");
      if (q.Bind(1, repo_id).Bind(2, d.digest.str()).Step()) size = q.Int(0);
      ARCA_RETURN_IF_ERROR(q.status());
    } else {
      ARCA_PREPARE(q, c,
                   "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest "
                   "WHERE rb.repository_id = ? AND rb.digest = ?");
      if (q.Bind(1, repo_id).Bind(2, d.digest.str()).Step()) size = q.Int(0);
      ARCA_RETURN_IF_ERROR(q.status());
    }
    if (size) {  // present: an ordinary reference, foreign candidate or not
      if (static_cast<uint64_t>(*size) != d.size) return SizeMismatch(d, *size);
      continue;
    }
    if (ref.foreign) {
      is_foreign[i] = true;
      continue;
    }
    if (i < m.foreign_denied.size() && m.foreign_denied[i]) {
      return Status(ErrorCode::kManifestInvalid, "push refused by policy",
                    m.foreign_rule + " does not allow foreign content: " + d.digest.str() +
                        " is not in this repository");
    }
    return BlobUnknown(ref.kind == RefKind::kManifest ? "manifest" : "blob", d);
  }
  return Status::Ok();
}

Status SqlMetaStore::PutManifest(const std::string& repo, const NewManifest& m) {
  return WriteTransaction([&](Connection& c) -> Status {
    int64_t now = Now();
    auto repo_id = EnsureRepository(c, repo, now);
    if (!repo_id.ok()) return repo_id.status();
    std::vector<bool> is_foreign;
    ARCA_RETURN_IF_ERROR(CheckReferences(c, *repo_id, m, is_foreign));
    const ManifestRecord& r = m.record;
    ARCA_PREPARE(ins, c,
                 "INSERT INTO manifests(repository_id, digest, media_type, artifact_type, "
                 "config_media_type, subject_digest, annotations, size, content, pushed_at, "
                 "type, platforms, created, fields) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT(repository_id, digest) DO NOTHING RETURNING id");
    ins.Bind(1, *repo_id).Bind(2, r.digest).Bind(3, r.media_type).Bind(4, r.artifact_type)
        .Bind(5, r.config_media_type);
    if (r.subject.empty()) {
      ins.BindNull(6);
    } else {
      ins.Bind(6, r.subject);
    }
    ins.Bind(7, r.annotations_json).Bind(8, static_cast<int64_t>(r.size)).BindBlob(9, r.content)
        .Bind(10, now).Bind(11, r.type).Bind(12, r.platforms_json).Bind(13, r.created)
        .Bind(14, r.fields_json);
    int64_t manifest_id = 0;
    bool inserted = ins.Step();  // a row only when it was not stored yet
    if (inserted) manifest_id = ins.Int(0);
    ARCA_RETURN_IF_ERROR(ins.status());
    if (inserted) ARCA_RETURN_IF_ERROR(ins.Exec());  // runs the statement to its end
    if (inserted) {
      ARCA_PREPARE(ref, c,
                   "INSERT INTO manifest_references(manifest_id, position, kind, digest, "
                   "media_type, size, is_foreign, repository_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
      for (size_t pos = 0; pos < m.refs.size(); ++pos) {
        const ManifestRef& mr = m.refs[pos];
        ARCA_RETURN_IF_ERROR(ref.Bind(1, manifest_id).Bind(2, static_cast<int64_t>(pos))
                                 .Bind(3, static_cast<int64_t>(mr.kind))
                                 .Bind(4, mr.descriptor.digest.str())
                                 .Bind(5, mr.descriptor.media_type)
                                 .Bind(6, static_cast<int64_t>(mr.descriptor.size))
                                 .Bind(7, int64_t{is_foreign[pos]})
                                 .Bind(8, *repo_id)
                                 .Exec());
      }
    } else {
      {
        ARCA_PREPARE(q, c, "SELECT id FROM manifests WHERE repository_id = ? AND digest = ?");
        if (!q.Bind(1, *repo_id).Bind(2, r.digest).Step()) {
          return Status(ErrorCode::kInternal, "metadata error", "manifest row vanished");
        }
        manifest_id = q.Int(0);
      }
      // Pushed again: the time of the last push protects it from GC for the grace period.
      ARCA_PREPARE(u, c, "UPDATE manifests SET pushed_at = ? WHERE id = ?");
      ARCA_RETURN_IF_ERROR(u.Bind(1, now).Bind(2, manifest_id).Exec());
    }
    if (!m.tags.empty()) ARCA_RETURN_IF_ERROR(BumpTagsGeneration(c, *repo_id));
    std::map<int64_t, std::vector<std::string>> moved_from;  // manifests that lose a tag
    std::vector<std::string> tagged, skipped;
    for (const std::string& tag : m.tags) {
      {
        ARCA_PREPARE(q, c, "SELECT manifest_id FROM tags WHERE repository_id = ? AND name = ?");
        bool taken = q.Bind(1, *repo_id).Bind(2, tag).Step() && q.Int(0) != manifest_id;
        int64_t holder = taken ? q.Int(0) : 0;
        ARCA_RETURN_IF_ERROR(q.status());
        if (taken && m.skip_taken_tags) {
          skipped.push_back(tag);
          continue;
        }
        if (taken) moved_from[holder].push_back(tag);
      }
      tagged.push_back(tag);
      ARCA_PREPARE(t, c,
                   "INSERT INTO tags(repository_id, name, manifest_id, updated_at) "
                   "VALUES(?, ?, ?, ?) ON CONFLICT(repository_id, name) DO UPDATE SET "
                   "manifest_id = excluded.manifest_id, updated_at = excluded.updated_at");
      ARCA_RETURN_IF_ERROR(t.Bind(1, *repo_id).Bind(2, tag).Bind(3, manifest_id).Bind(4, now).Exec());
    }
    if (m.skip_taken_tags) *m.skip_taken_tags = skipped;
    return UpdateRecycleBin(c, *repo_id, manifest_id, m, tagged, skipped, moved_from, now);
  });
}

// After a push: the manifest leaves the recycle bin if tagged, a referrer or re-pushed after
// a delete (an untagged push enters it); children it references leave it; manifests that lost
// their last tag to it enter it.
Status SqlMetaStore::UpdateRecycleBin(
    Connection& c, int64_t repo_id, int64_t manifest_id, const NewManifest& m,
    const std::vector<std::string>& tagged, const std::vector<std::string>& skipped,
    const std::map<int64_t, std::vector<std::string>>& moved_from, int64_t now) {
  const std::string& digest = m.record.digest;
  {
    ARCA_PREPARE(d, c, "DELETE FROM trash_references WHERE repository_id = ? AND manifest_digest = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
  }
  if (!tagged.empty() || !m.record.subject.empty()) {
    ARCA_PREPARE(d, c, "DELETE FROM trash WHERE repository_id = ? AND digest = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
  } else {
    {
      ARCA_PREPARE(d, c, "DELETE FROM trash WHERE repository_id = ? AND digest = ? AND reason = 'deleted'");
      ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
    }
    ARCA_RETURN_IF_ERROR(sql::TrashIfUntagged(c, repo_id, manifest_id, skipped, now, m.retention));
  }
  for (size_t i = 0; i < m.refs.size(); ++i) {
    if (m.refs[i].kind != RefKind::kManifest) continue;
    ARCA_PREPARE(d, c, "DELETE FROM trash WHERE repository_id = ? AND digest = ? AND reason = 'untagged'");
    ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, m.refs[i].descriptor.digest.str()).Exec());
  }
  for (const auto& [id, tags] : moved_from) {
    ARCA_RETURN_IF_ERROR(sql::TrashIfUntagged(c, repo_id, id, tags, now, m.retention));
  }
  return Status::Ok();
}

Result<std::optional<ManifestRecord>> SqlMetaStore::GetManifest(const std::string& repo,
                                                                  const std::string& digest) {
  return Reading([&](sql::Connection& c) -> Result<std::optional<ManifestRecord>> {
    ARCA_PREPARE(q, c,
                 "SELECT " ARCA_MANIFEST_COLUMNS ", m.content FROM manifests m JOIN repositories r "
                 "ON r.id = m.repository_id WHERE r.name = ? AND m.digest = ?");
    if (q.Bind(1, repo).Bind(2, digest).Step()) {
      return std::optional<ManifestRecord>(ReadManifestRow(q, true));
    }
    ARCA_RETURN_IF_ERROR(q.status());
    return std::optional<ManifestRecord>();
  });
}

Result<std::optional<ManifestRecord>> SqlMetaStore::GetTaggedManifest(const std::string& repo,
                                                                        const std::string& tag) {
  return Reading([&](sql::Connection& c) -> Result<std::optional<ManifestRecord>> {
    ARCA_PREPARE(q, c,
                 "SELECT " ARCA_MANIFEST_COLUMNS ", m.content FROM tags t JOIN repositories r "
                 "ON r.id = t.repository_id JOIN manifests m ON m.id = t.manifest_id "
                 "WHERE r.name = ? AND t.name = ?");
    if (q.Bind(1, repo).Bind(2, tag).Step()) {
      return std::optional<ManifestRecord>(ReadManifestRow(q, true));
    }
    ARCA_RETURN_IF_ERROR(q.status());
    return std::optional<ManifestRecord>();
  });
}

Result<bool> SqlMetaStore::DeleteManifest(const std::string& repo, const std::string& digest,
                                             int64_t retention) {
  bool removed = false;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    removed = false;
    int64_t now = Now();
    int64_t repo_id = 0, manifest_id = 0;
    {
      ARCA_PREPARE(q, c,
                   "SELECT r.id, m.id FROM manifests m JOIN repositories r ON r.id = m.repository_id "
                   "WHERE r.name = ? AND m.digest = ?");
      if (!q.Bind(1, repo).Bind(2, digest).Step()) return q.status();
      repo_id = q.Int(0);
      manifest_id = q.Int(1);
    }
    std::vector<std::string> tags;
    {
      ARCA_PREPARE(q, c, "SELECT name FROM tags WHERE manifest_id = ?");
      q.Bind(1, manifest_id);
      while (q.Step()) tags.push_back(q.Text(0));
      ARCA_RETURN_IF_ERROR(q.status());
    }
    {
      ARCA_PREPARE(q, c, "SELECT tags FROM trash WHERE repository_id = ? AND digest = ?");
      if (q.Bind(1, repo_id).Bind(2, digest).Step()) {
        for (auto& t : sql::ParseTagsJson(q.Text(0))) tags.push_back(std::move(t));
      }
      ARCA_RETURN_IF_ERROR(q.status());
    }
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    {
      ARCA_PREPARE(d, c, "DELETE FROM trash WHERE repository_id = ? AND digest = ?");
      ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, digest).Exec());
    }
    {
      ARCA_PREPARE(ins, c,
                   "INSERT INTO trash(repository_id, digest, reason, tags, media_type, type, size, "
                   "content, subject_digest, trashed_at, expires_at) SELECT repository_id, digest, "
                   "'deleted', ?, media_type, type, size, content, subject_digest, ?, ? "
                   "FROM manifests WHERE id = ?");
      ARCA_RETURN_IF_ERROR(ins.Bind(1, sql::TagsJson(tags)).Bind(2, now).Bind(3, sql::ExpiryOf(now, retention))
                               .Bind(4, manifest_id).Exec());
    }
    {
      ARCA_PREPARE(ins, c,
                   "INSERT INTO trash_references(repository_id, manifest_digest, position, "
                   "kind, digest, is_foreign) SELECT ?, ?, position, kind, digest, is_foreign "
                   "FROM manifest_references WHERE manifest_id = ? "
                   "ON CONFLICT(repository_id, manifest_digest, position) DO UPDATE SET "
                   "kind = excluded.kind, digest = excluded.digest, "
                   "is_foreign = excluded.is_foreign");
      ARCA_RETURN_IF_ERROR(ins.Bind(1, repo_id).Bind(2, digest).Bind(3, manifest_id).Exec());
    }
    ARCA_PREPARE(d, c, "DELETE FROM manifests WHERE id = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, manifest_id).Exec());
    removed = true;
    // Its tags went with it (ON DELETE CASCADE), so the tag generation moves too.
    return BumpTagsGeneration(c, repo_id);
  });
  if (!s.ok()) return s;
  return removed;
}

Result<bool> SqlMetaStore::DeleteTag(const std::string& repo, const std::string& tag,
                                        int64_t retention) {
  bool removed = false;
  Status s = WriteTransaction([&](Connection& c) -> Status {
    removed = false;
    int64_t repo_id = 0, manifest_id = 0;
    {
      ARCA_PREPARE(q, c,
                   "SELECT r.id, t.manifest_id FROM tags t JOIN repositories r ON r.id = "
                   "t.repository_id WHERE r.name = ? AND t.name = ?");
      if (!q.Bind(1, repo).Bind(2, tag).Step()) return q.status();
      repo_id = q.Int(0);
      manifest_id = q.Int(1);
    }
    ARCA_PREPARE(d, c, "DELETE FROM tags WHERE repository_id = ? AND name = ?");
    ARCA_RETURN_IF_ERROR(d.Bind(1, repo_id).Bind(2, tag).Exec());
    removed = true;
    ARCA_RETURN_IF_ERROR(BumpTagsGeneration(c, repo_id));
    return sql::TrashIfUntagged(c, repo_id, manifest_id, {tag},
                                   Now(), retention);
  });
  if (!s.ok()) return s;
  return removed;
}

Status SqlMetaStore::BumpTagsGeneration(Connection& c, int64_t repo_id) {
  ARCA_PREPARE(u, c, "UPDATE repositories SET tags_generation = tags_generation + 1 WHERE id = ?");
  return u.Bind(1, repo_id).Exec();
}

Result<std::optional<int64_t>> SqlMetaStore::TagsGeneration(const std::string& repo) {
  return Reading([&](sql::Connection& c) -> Result<std::optional<int64_t>> {
    ARCA_PREPARE(q, c, "SELECT tags_generation FROM repositories WHERE name = ?");
    if (q.Bind(1, repo).Step()) return std::optional<int64_t>(q.Int(0));
    ARCA_RETURN_IF_ERROR(q.status());
    return std::optional<int64_t>();
  });
}

Result<Page<std::string>> SqlMetaStore::ListTags(const std::string& repo,
                                                   const std::string& after, size_t limit) {
  return Reading([&](sql::Connection& c) -> Result<Page<std::string>> {
    ARCA_PREPARE(q, c,
                 "SELECT t.name FROM tags t WHERE t.repository_id = "
                 "(SELECT id FROM repositories WHERE name = ?) AND t.name > ? "
                 "ORDER BY t.name LIMIT ?");
    q.Bind(1, repo).Bind(2, after).Bind(3, static_cast<int64_t>(limit) + 1);
    return sql::NamePage(q, limit);
  });
}

Result<Page<ManifestRecord>> SqlMetaStore::ListReferrers(const std::string& repo,
                                                           const std::string& subject,
                                                           const std::string& artifact_type,
                                                           const std::string& after,
                                                           size_t limit) {
  return Reading([&](sql::Connection& c) -> Result<Page<ManifestRecord>> {
    ARCA_PREPARE(q, c,
                 "SELECT " ARCA_MANIFEST_COLUMNS " FROM manifests m WHERE m.repository_id = "
                 "(SELECT id FROM repositories WHERE name = ?1) AND m.subject_digest = ?2 "
                 "AND m.digest > ?3 AND (?4 = '' OR (CASE WHEN m.artifact_type <> '' THEN "
                 "m.artifact_type ELSE m.config_media_type END) = ?4) ORDER BY m.digest LIMIT ?5");
    q.Bind(1, repo).Bind(2, subject).Bind(3, after).Bind(4, artifact_type)
        .Bind(5, static_cast<int64_t>(limit) + 1);
    Page<ManifestRecord> page;
    while (q.Step()) page.items.push_back(ReadManifestRow(q, false));
    ARCA_RETURN_IF_ERROR(q.status());
    if (page.items.size() > limit) {
      page.items.pop_back();
      page.more = true;
    }
    return page;
  });
}

}  // namespace arca
