// Rows of the recycle bin and the collector's queue, written by the transactions that change
// what is referenced (sqlite_manifests.cc, sqlite_meta_store.cc) and read by the collector
// (sqlite_gc.cc). Every function runs inside the caller's write transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "meta/sql/sql_conn.h"
#include "util/status.h"

namespace arca::sql {

enum QueueKind : int64_t {
  kQueueBlobLink = 1,  // is repository's blob still referenced there?
  kQueueManifest = 2,  // is repository's manifest still kept by a tag, index or subject?
  kQueueBytes = 3,     // the blob's record is gone: its bytes may go (repository 0)
};

// Times are whole seconds, rounded down, so a span has surely passed only when a whole second
// more has: an entry of the recycle bin is expired once now > expires_at, and a retention of 0
// expires at once.
inline int64_t ExpiryOf(int64_t now, int64_t retention) {
  return retention > 0 ? now + retention : now - 1;
}

Status Enqueue(Connection& c, int64_t due, QueueKind kind, int64_t repo_id,
               const std::string& digest);

// When manifest_id has no tag left, no index in its repository references it and it is not a
// referrer of a present subject, it enters the recycle bin as untagged (lost_tags added to
// the tags it is remembered by).
Status TrashIfUntagged(Connection& c, int64_t repo_id, int64_t manifest_id,
                       const std::vector<std::string>& lost_tags, int64_t now, int64_t retention);

// Whether an index of the repository (stored, or deleted and still in the recycle bin)
// references the manifest digest. Foreign references count too: content that was absent at
// push (a sparse index's child, a layer with urls) and arrives later is kept like any other.
Result<bool> ManifestReferenced(Connection& c, int64_t repo_id, const std::string& digest);

// Tag lists are stored as JSON arrays; tag names need no escaping (their grammar has no
// quotes, backslashes or control characters).
std::string TagsJson(const std::vector<std::string>& tags);
std::vector<std::string> ParseTagsJson(const std::string& json);

}  // namespace arca::sql
