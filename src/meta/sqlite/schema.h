// The metadata schema as it stood when versioned migrations began: migration step 1
// (sqlite_migrations.cc), frozen. Later changes are steps of their own there, never edits
// here. Kept portable to PostgreSQL: no SQLite-only column types.
#pragma once

namespace arca::sqlite {

inline constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS repositories(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  tags_generation INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS blobs(
  digest TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repository_blobs(
  repository_id INTEGER NOT NULL REFERENCES repositories(id),
  digest TEXT NOT NULL REFERENCES blobs(digest),
  created_at INTEGER NOT NULL,
  PRIMARY KEY(repository_id, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS repository_blobs_by_digest ON repository_blobs(digest);
CREATE TABLE IF NOT EXISTS manifests(
  id INTEGER PRIMARY KEY,
  repository_id INTEGER NOT NULL REFERENCES repositories(id),
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  artifact_type TEXT NOT NULL,
  config_media_type TEXT NOT NULL,
  subject_digest TEXT,
  annotations TEXT NOT NULL,
  size INTEGER NOT NULL,
  content BLOB NOT NULL,
  pushed_at INTEGER NOT NULL,
  type TEXT NOT NULL DEFAULT '',
  platforms TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL DEFAULT '',
  fields TEXT NOT NULL DEFAULT '',
  UNIQUE(repository_id, digest));
CREATE INDEX IF NOT EXISTS manifests_by_subject
  ON manifests(repository_id, subject_digest, digest) WHERE subject_digest IS NOT NULL;
-- kind: 0 config, 1 layer, 2 child manifest; is_foreign: content that lives elsewhere.
CREATE TABLE IF NOT EXISTS manifest_references(
  manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  is_foreign INTEGER NOT NULL,
  PRIMARY KEY(manifest_id, position));
CREATE TABLE IF NOT EXISTS tags(
  repository_id INTEGER NOT NULL REFERENCES repositories(id),
  name TEXT NOT NULL,
  manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY(repository_id, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_by_manifest ON tags(manifest_id);
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  repository TEXT NOT NULL,
  digest TEXT NOT NULL,
  message TEXT NOT NULL,
  principal TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS uploads(
  id TEXT PRIMARY KEY,
  repository_id INTEGER NOT NULL REFERENCES repositories(id),
  byte_offset INTEGER NOT NULL,
  hash_state BLOB NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL) WITHOUT ROWID;
)SQL";

// Columns added before versioned migrations, part of step 1: a store made by an older build
// gets each one that it lacks (with the backfill that gives old rows the value a push would
// have given them).
struct AddedColumn {
  const char* table;
  const char* column;
  const char* ddl;
};
inline constexpr AddedColumn kAddedColumns[] = {
    {"manifests", "type",
     "ALTER TABLE manifests ADD COLUMN type TEXT NOT NULL DEFAULT '';"
     "UPDATE manifests SET type = CASE WHEN artifact_type <> '' THEN artifact_type "
     "ELSE config_media_type END;"},
    {"manifests", "platforms", "ALTER TABLE manifests ADD COLUMN platforms TEXT NOT NULL DEFAULT '';"},
    {"manifests", "created", "ALTER TABLE manifests ADD COLUMN created TEXT NOT NULL DEFAULT '';"},
    {"manifests", "fields", "ALTER TABLE manifests ADD COLUMN fields TEXT NOT NULL DEFAULT '';"},
    {"repositories", "tags_generation",
     "ALTER TABLE repositories ADD COLUMN tags_generation INTEGER NOT NULL DEFAULT 0;"},
    // The referencing manifest's repository, so that "does a manifest of this repository
    // reference this digest" is one index probe however widely the digest is shared.
    {"manifest_references", "repository_id",
     "ALTER TABLE manifest_references ADD COLUMN repository_id INTEGER NOT NULL DEFAULT 0;"
     "UPDATE manifest_references SET repository_id = (SELECT repository_id FROM manifests "
     "WHERE manifests.id = manifest_references.manifest_id);"},
    // Who made the change an event tells of (issue 11).
    {"events", "principal", "ALTER TABLE events ADD COLUMN principal TEXT NOT NULL DEFAULT '';"},
    {"events", "request_id", "ALTER TABLE events ADD COLUMN request_id TEXT NOT NULL DEFAULT '';"},
};

// The `type` backfill above gives an index '' (it has neither artifactType nor config); a push
// gives it what IdentifyArtifactType does: its legacy artifactType annotation, else the OCI
// index type when every child is an image manifest, else its own media type. Run at every
// open before versioned migrations, and now once, in step 1 (an index typed '' exists only in
// a store that this backfill made).
inline constexpr const char* kRepairIndexType = R"SQL(
UPDATE manifests SET type = CASE
  WHEN annotations <> '' AND json_valid(annotations)
       AND coalesce(json_extract(annotations, '$."org.opencontainers.artifactType"'), '') <> ''
    THEN json_extract(annotations, '$."org.opencontainers.artifactType"')
  WHEN EXISTS(SELECT 1 FROM manifest_references r WHERE r.manifest_id = manifests.id)
       AND NOT EXISTS(SELECT 1 FROM manifest_references r WHERE r.manifest_id = manifests.id
         AND r.media_type NOT IN ('application/vnd.oci.image.manifest.v1+json',
                                  'application/vnd.docker.distribution.manifest.v2+json'))
    THEN 'application/vnd.oci.image.index.v1+json'
  ELSE media_type END
WHERE type = '' AND artifact_type = '' AND media_type IN (
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json');
)SQL";

inline constexpr const char* kIndexesV2 = R"SQL(
CREATE INDEX IF NOT EXISTS manifests_by_type ON manifests(type, repository_id);
CREATE INDEX IF NOT EXISTS manifests_by_repository_type ON manifests(repository_id, type, digest);
)SQL";

// The recycle bin and the garbage collector's queue (docs/gc.md).
inline constexpr const char* kSchemaGc = R"SQL(
-- A manifest that was untagged (still in manifests) or deleted (only here: content and
-- references kept so that it can be restored), until expires_at.
CREATE TABLE IF NOT EXISTS trash(
  repository_id INTEGER NOT NULL REFERENCES repositories(id),
  digest TEXT NOT NULL,
  reason TEXT NOT NULL,
  tags TEXT NOT NULL,
  media_type TEXT NOT NULL,
  type TEXT NOT NULL,
  size INTEGER NOT NULL,
  content BLOB,
  subject_digest TEXT,
  trashed_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY(repository_id, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trash_by_expiry ON trash(expires_at);
CREATE TABLE IF NOT EXISTS trash_references(
  repository_id INTEGER NOT NULL,
  manifest_digest TEXT NOT NULL,
  position INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  digest TEXT NOT NULL,
  is_foreign INTEGER NOT NULL,
  PRIMARY KEY(repository_id, manifest_digest, position)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trash_references_by_digest ON trash_references(digest, repository_id);
-- What a change may have orphaned, to review once due. kind: 1 a repository's blob link,
-- 2 a repository's manifest, 3 blob bytes whose record is gone (repository_id 0).
CREATE TABLE IF NOT EXISTS gc_queue(
  id INTEGER PRIMARY KEY,
  due_at INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  repository_id INTEGER NOT NULL,
  digest TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS gc_queue_by_due ON gc_queue(due_at);
CREATE INDEX IF NOT EXISTS gc_queue_files ON gc_queue(digest) WHERE kind = 3;
CREATE INDEX IF NOT EXISTS uploads_by_update ON uploads(updated_at);
DROP INDEX IF EXISTS manifest_references_by_digest;
CREATE INDEX IF NOT EXISTS manifest_references_by_digest_repository
  ON manifest_references(digest, repository_id);
)SQL";

// The store's identity (README "Store identity"): one row, written when the store is made or
// adopted, never by a migration.
inline constexpr const char* kSchemaIdentity = R"SQL(
CREATE TABLE IF NOT EXISTS store_identity(
  id TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  written_at INTEGER NOT NULL);
)SQL";

}  // namespace arca::sqlite
