// The manifest columns every manifest query selects, and reading them back: one list, so a
// new column is added in one place. Internal to meta/sql.
#pragma once

#include "meta/meta_store.h"
#include "meta/sql/sql_conn.h"

namespace arca::sql {

// Columns 0-11 of a query over `manifests m`; column 12 is the content where it is selected.
#define ARCA_MANIFEST_COLUMNS                                                        \
  "m.digest, m.media_type, m.artifact_type, m.config_media_type, m.subject_digest, " \
  "m.annotations, m.size, m.pushed_at, m.type, m.platforms, m.created, m.fields "

inline ManifestRecord ReadManifestRow(const Stmt& s, bool with_content) {
  ManifestRecord m;
  m.digest = s.Text(0);
  m.media_type = s.Text(1);
  m.artifact_type = s.Text(2);
  m.config_media_type = s.Text(3);
  m.subject = s.IsNull(4) ? "" : s.Text(4);
  m.annotations_json = s.Text(5);
  m.size = static_cast<uint64_t>(s.Int(6));
  m.pushed_at = s.Int(7);
  m.type = s.Text(8);
  m.platforms_json = s.Text(9);
  m.created = s.Text(10);
  m.fields_json = s.Text(11);
  if (with_content) m.content = s.Text(12);
  return m;
}

}  // namespace arca::sql
