// SqlMetaStore: settings shared by the processes of one store (type definitions written through
// the API, the type policy), and the counter that tells them something changed.
#include "meta/sql/sql_meta_store.h"

namespace arca {

namespace {

Status Bump(sql::Connection& c) {
  ARCA_PREPARE(q, c, "UPDATE settings_changes SET version = version + 1 WHERE id = 1");
  return q.Exec();
}

}  // namespace

Result<int64_t> SqlMetaStore::SettingsVersion() {
  return Reading([&](sql::Connection& c) -> Result<int64_t> {
    ARCA_PREPARE(q, c, "SELECT version FROM settings_changes WHERE id = 1");
    if (!q.Step()) {
      ARCA_RETURN_IF_ERROR(q.status());
      return Status(ErrorCode::kInternal, "metadata error", "settings_changes has no row");
    }
    return q.Int(0);
  });
}

Status SqlMetaStore::CheckWritable() {
  return WriteTransaction([](sql::Connection& c) -> Status {
    // A real write (SQLite: the write lock, a page and an fsync'd COMMIT; PostgreSQL: a new
    // row version in the WAL) that leaves the value, so pollers of the counter see no change.
    ARCA_PREPARE(q, c, "UPDATE settings_changes SET version = version WHERE id = 1");
    ARCA_RETURN_IF_ERROR(q.Exec());
    return c.Changes() == 1 ? Status::Ok()
                            : Status(ErrorCode::kInternal, "metadata error",
                                     "settings_changes has no row");
  });
}

Result<std::vector<MetaStore::TypeDefinitionRecord>> SqlMetaStore::ListTypeDefinitions() {
  return Reading([&](sql::Connection& c) -> Result<std::vector<TypeDefinitionRecord>> {
    ARCA_PREPARE(q, c, "SELECT id, definition, logo, updated_at FROM type_definitions "
                       "ORDER BY id");
    std::vector<TypeDefinitionRecord> out;
    while (q.Step()) out.push_back({q.Text(0), q.Text(1), q.Text(2), q.Int(3)});
    ARCA_RETURN_IF_ERROR(q.status());
    return out;
  });
}

Result<bool> SqlMetaStore::PutTypeDefinition(const TypeDefinitionRecord& d) {
  bool added = false;
  Status s = WriteTransaction([&](sql::Connection& c) -> Status {
    ARCA_PREPARE(f, c, "SELECT 1 FROM type_definitions WHERE id = ?");
    added = !f.Bind(1, d.id).Step();
    ARCA_RETURN_IF_ERROR(f.status());
    ARCA_PREPARE(q, c, "INSERT INTO type_definitions(id, definition, logo, updated_at) "
                       "VALUES(?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                       "definition = excluded.definition, logo = excluded.logo, "
                       "updated_at = excluded.updated_at");
    ARCA_RETURN_IF_ERROR(q.Bind(1, d.id).Bind(2, d.definition).Bind(3, d.logo).Bind(4, Now())
                             .Exec());
    return Bump(c);
  });
  if (!s.ok()) return s;
  return added;
}

Result<bool> SqlMetaStore::DeleteTypeDefinition(const std::string& id) {
  bool deleted = false;
  Status s = WriteTransaction([&](sql::Connection& c) -> Status {
    ARCA_PREPARE(q, c, "DELETE FROM type_definitions WHERE id = ?");
    ARCA_RETURN_IF_ERROR(q.Bind(1, id).Exec());
    deleted = c.Changes() > 0;
    return deleted ? Bump(c) : Status::Ok();
  });
  if (!s.ok()) return s;
  return deleted;
}

Result<std::optional<std::string>> SqlMetaStore::GetSetting(const std::string& name) {
  return Reading([&](sql::Connection& c) -> Result<std::optional<std::string>> {
    ARCA_PREPARE(q, c, "SELECT value FROM settings WHERE name = ?");
    if (!q.Bind(1, name).Step()) {
      ARCA_RETURN_IF_ERROR(q.status());
      return std::optional<std::string>();
    }
    return std::optional<std::string>(q.Text(0));
  });
}

Status SqlMetaStore::PutSetting(const std::string& name,
                                const std::optional<std::string>& value) {
  return WriteTransaction([&](sql::Connection& c) -> Status {
    if (!value) {
      ARCA_PREPARE(q, c, "DELETE FROM settings WHERE name = ?");
      ARCA_RETURN_IF_ERROR(q.Bind(1, name).Exec());
      return c.Changes() > 0 ? Bump(c) : Status::Ok();
    }
    ARCA_PREPARE(q, c, "INSERT INTO settings(name, value, updated_at) VALUES(?, ?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = excluded.value, "
                       "updated_at = excluded.updated_at");
    ARCA_RETURN_IF_ERROR(q.Bind(1, name).Bind(2, *value).Bind(3, Now()).Exec());
    return Bump(c);
  });
}

}  // namespace arca
