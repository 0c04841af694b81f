// SqlMetaStore: the artifact listings and the event log.
#include <ctime>

#include "meta/sql/manifest_rows.h"
#include "meta/sql/sql_conn.h"
#include "meta/sql/sql_meta_store.h"

namespace arca {

using sql::Connection;

namespace {

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    out.push_back(s.substr(start, nl == std::string::npos ? nl : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

template <typename T>
void TrimPage(Page<T>& page, size_t limit) {
  if (page.items.size() > limit) {
    page.items.pop_back();
    page.more = true;
  }
}

}  // namespace

Result<Page<ArtifactSummary>> SqlMetaStore::ListArtifacts(const std::string& repo,
                                                            const std::string& type,
                                                            const std::string& after,
                                                            size_t limit) {
  return Reading([&](sql::Connection& c) -> Result<Page<ArtifactSummary>> {
    // One statement: sizes, referrer counts and tags come from correlated subqueries, so a
    // page costs the same whatever the number of artifacts on it.
    // The tag list: GROUP_CONCAT in SQLite, string_agg in PostgreSQL.
  #define ARCA_LIST_ARTIFACTS(TAGS)                                                                \
    "SELECT " ARCA_MANIFEST_COLUMNS ", "                                                         \
    /* Everything a pull of the artifact transfers: its references, and for an index its */ \
    /* children's, each distinct blob or manifest once. */                                     \
    "m.size + (WITH RECURSIVE closure(digest, size) AS ("                                      \
    "  SELECT digest, size FROM manifest_references WHERE manifest_id = m.id UNION "           \
    "  SELECT r.digest, r.size FROM closure c JOIN manifests x ON x.repository_id = "          \
    "  m.repository_id AND x.digest = c.digest JOIN manifest_references r ON "                 \
    "  r.manifest_id = x.id) SELECT COALESCE(SUM(size), 0) FROM closure), "                    \
    "(SELECT COUNT(*) FROM manifests x WHERE x.repository_id = m.repository_id "               \
    "  AND x.subject_digest = m.digest), " TAGS                                                 \
    " FROM manifests m WHERE m.repository_id = "                                               \
    "(SELECT id FROM repositories WHERE name = ?1) AND (?2 = '' OR m.type = ?2) "              \
    "AND m.digest > ?3 ORDER BY m.digest LIMIT ?4"
    static constexpr const char* kSqlite = ARCA_LIST_ARTIFACTS(
        "(SELECT GROUP_CONCAT(name, char(10)) FROM (SELECT name FROM tags "
        "  WHERE manifest_id = m.id ORDER BY name))");
    static constexpr const char* kPostgres = ARCA_LIST_ARTIFACTS(
        "(SELECT string_agg(name, chr(10) ORDER BY name) FROM tags WHERE manifest_id = m.id)");
  #undef ARCA_LIST_ARTIFACTS
    ARCA_PREPARE(q, c, dialect() == Dialect::kPostgres ? kPostgres : kSqlite);
    q.Bind(1, repo).Bind(2, type).Bind(3, after).Bind(4, static_cast<int64_t>(limit) + 1);
    Page<ArtifactSummary> page;
    while (q.Step()) {
      ArtifactSummary a;
      a.manifest = sql::ReadManifestRow(q, /*with_content=*/false);
      a.total_size = static_cast<uint64_t>(q.Int(12));
      a.referrers = static_cast<uint64_t>(q.Int(13));
      if (!q.IsNull(14)) a.tags = SplitLines(q.Text(14));
      page.items.push_back(std::move(a));
    }
    ARCA_RETURN_IF_ERROR(q.status());
    TrimPage(page, limit);
    return page;
  });
}

Result<Page<RepositorySummary>> SqlMetaStore::ListTypedRepositories(const std::string& type,
                                                                      const std::string& after,
                                                                      size_t limit) {
  return Reading([&](sql::Connection& c) -> Result<Page<RepositorySummary>> {
  #define ARCA_TYPED_REPOSITORIES(TYPES)                                                       \
    "SELECT r.name, (SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id), " TYPES  \
    " FROM repositories r WHERE r.name > ?2 AND EXISTS(SELECT 1 FROM manifests m "            \
    "WHERE m.repository_id = r.id AND (?1 = '' OR m.type = ?1)) "                            \
    "ORDER BY r.name LIMIT ?3"
    static constexpr const char* kSqlite = ARCA_TYPED_REPOSITORIES(
        "(SELECT GROUP_CONCAT(t, char(10)) FROM (SELECT DISTINCT type AS t FROM manifests "
        "  WHERE repository_id = r.id ORDER BY t))");
    static constexpr const char* kPostgres = ARCA_TYPED_REPOSITORIES(
        "(SELECT string_agg(DISTINCT type, chr(10) ORDER BY type) FROM manifests "
        "  WHERE repository_id = r.id)");
  #undef ARCA_TYPED_REPOSITORIES
    ARCA_PREPARE(q, c, dialect() == Dialect::kPostgres ? kPostgres : kSqlite);
    q.Bind(1, type).Bind(2, after).Bind(3, static_cast<int64_t>(limit) + 1);
    Page<RepositorySummary> page;
    while (q.Step()) {
      RepositorySummary s{q.Text(0), static_cast<uint64_t>(q.Int(1)), {}};
      if (!q.IsNull(2)) s.types = SplitLines(q.Text(2));
      page.items.push_back(std::move(s));
    }
    ARCA_RETURN_IF_ERROR(q.status());
    TrimPage(page, limit);
    return page;
  });
}

Status SqlMetaStore::RecordEvent(const Event& e) {
  return WriteTransaction([&](Connection& c) -> Status {
    ARCA_PREPARE(ins, c,
                 "INSERT INTO events(time, kind, repository, digest, message, principal, "
                 "request_id) VALUES(?, ?, ?, ?, ?, ?, ?)");
    int64_t when = e.time ? e.time : Now();
    return ins.Bind(1, when).Bind(2, e.kind).Bind(3, e.repository).Bind(4, e.digest)
        .Bind(5, e.message).Bind(6, e.principal).Bind(7, e.request_id).Exec();
  });
}

Result<Page<Event>> SqlMetaStore::ListEvents(int64_t after_id, size_t limit) {
  return Reading([&](sql::Connection& c) -> Result<Page<Event>> {
    ARCA_PREPARE(q, c,
                 "SELECT id, time, kind, repository, digest, message, principal, request_id "
                 "FROM events WHERE id > ? ORDER BY id LIMIT ?");
    q.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit) + 1);
    Page<Event> page;
    while (q.Step()) {
      page.items.push_back(Event{q.Int(0), q.Int(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5),
                                 q.Text(6), q.Text(7)});
    }
    ARCA_RETURN_IF_ERROR(q.status());
    TrimPage(page, limit);
    return page;
  });
}

}  // namespace arca
