// The metadata schema (version 1). Kept portable to PostgreSQL: no SQLite-only column types.
#pragma once

namespace arca::sqlite {

inline constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS repositories(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL);
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
CREATE INDEX IF NOT EXISTS manifest_references_by_digest ON manifest_references(digest);
CREATE TABLE IF NOT EXISTS tags(
  repository_id INTEGER NOT NULL REFERENCES repositories(id),
  name TEXT NOT NULL,
  manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY(repository_id, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_by_manifest ON tags(manifest_id);
CREATE TABLE IF NOT EXISTS uploads(
  id TEXT PRIMARY KEY,
  repository_id INTEGER NOT NULL REFERENCES repositories(id),
  byte_offset INTEGER NOT NULL,
  hash_state BLOB NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL) WITHOUT ROWID;
)SQL";

}  // namespace arca::sqlite
