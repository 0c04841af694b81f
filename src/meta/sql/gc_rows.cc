#include "meta/sql/gc_rows.h"

#include <algorithm>

namespace arca::sql {

Status Enqueue(Connection& c, int64_t due, QueueKind kind, int64_t repo_id,
               const std::string& digest) {
  ARCA_PREPARE(q, c, "INSERT INTO gc_queue(due_at, kind, repository_id, digest) VALUES(?, ?, ?, ?)");
  return q.Bind(1, due).Bind(2, static_cast<int64_t>(kind)).Bind(3, repo_id).Bind(4, digest).Exec();
}

Result<bool> ManifestReferenced(Connection& c, int64_t repo_id, const std::string& digest) {
  {
    ARCA_PREPARE(q, c,
                 "SELECT 1 FROM manifest_references WHERE digest = ? AND repository_id = ? "
                 "AND kind = 2 LIMIT 1");
    if (q.Bind(1, digest).Bind(2, repo_id).Step()) return true;
    ARCA_RETURN_IF_ERROR(q.status());
  }
  ARCA_PREPARE(q, c,
               "SELECT 1 FROM trash_references WHERE digest = ? AND repository_id = ? "
               "AND kind = 2 LIMIT 1");
  bool found = q.Bind(1, digest).Bind(2, repo_id).Step();
  ARCA_RETURN_IF_ERROR(q.status());
  return found;
}

Status TrashIfUntagged(Connection& c, int64_t repo_id, int64_t manifest_id,
                       const std::vector<std::string>& lost_tags, int64_t now, int64_t retention) {
  {
    ARCA_PREPARE(q, c, "SELECT 1 FROM tags WHERE manifest_id = ? LIMIT 1");
    if (q.Bind(1, manifest_id).Step()) return Status::Ok();
    ARCA_RETURN_IF_ERROR(q.status());
  }
  std::string digest, media_type, type, subject;
  int64_t size = 0;
  {
    ARCA_PREPARE(q, c, "SELECT digest, media_type, type, size, subject_digest FROM manifests WHERE id = ?");
    if (!q.Bind(1, manifest_id).Step()) return q.status();
    digest = q.Text(0);
    media_type = q.Text(1);
    type = q.Text(2);
    size = q.Int(3);
    subject = q.IsNull(4) ? "" : q.Text(4);
  }
  auto referenced = ManifestReferenced(c, repo_id, digest);
  if (!referenced.ok()) return referenced.status();
  if (*referenced) return Status::Ok();
  if (!subject.empty()) {
    ARCA_PREPARE(q, c, "SELECT 1 FROM manifests WHERE repository_id = ? AND digest = ?");
    if (q.Bind(1, repo_id).Bind(2, subject).Step()) return Status::Ok();  // kept as a referrer
    ARCA_RETURN_IF_ERROR(q.status());
  }
  std::vector<std::string> tags = lost_tags;
  bool exists = false;
  {
    ARCA_PREPARE(q, c, "SELECT tags FROM trash WHERE repository_id = ? AND digest = ?");
    if (q.Bind(1, repo_id).Bind(2, digest).Step()) {
      exists = true;
      for (auto& t : ParseTagsJson(q.Text(0))) tags.push_back(std::move(t));
    }
    ARCA_RETURN_IF_ERROR(q.status());
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  if (exists) {  // already in the bin: remembers more tags, keeps its expiry
    ARCA_PREPARE(u, c, "UPDATE trash SET tags = ? WHERE repository_id = ? AND digest = ?");
    return u.Bind(1, TagsJson(tags)).Bind(2, repo_id).Bind(3, digest).Exec();
  }
  ARCA_PREPARE(ins, c,
               "INSERT INTO trash(repository_id, digest, reason, tags, media_type, type, size, "
               "content, subject_digest, trashed_at, expires_at) "
               "VALUES(?, ?, 'untagged', ?, ?, ?, ?, NULL, ?, ?, ?)");
  ins.Bind(1, repo_id).Bind(2, digest).Bind(3, TagsJson(tags)).Bind(4, media_type).Bind(5, type)
      .Bind(6, size);
  if (subject.empty()) {
    ins.BindNull(7);
  } else {
    ins.Bind(7, subject);
  }
  return ins.Bind(8, now).Bind(9, ExpiryOf(now, retention)).Exec();
}

std::string TagsJson(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (size_t i = 0; i < tags.size(); ++i) out += (i ? ",\"" : "\"") + tags[i] + "\"";
  return out + "]";
}

std::vector<std::string> ParseTagsJson(const std::string& json) {
  std::vector<std::string> out;
  size_t i = 0;
  while ((i = json.find('"', i)) != std::string::npos) {
    size_t end = json.find('"', i + 1);
    if (end == std::string::npos) break;
    out.push_back(json.substr(i + 1, end - i - 1));
    i = end + 1;
  }
  return out;
}

}  // namespace arca::sql
