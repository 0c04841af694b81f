#include "gc/fsck.h"

#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "types/digest.h"
#include "util/sha.h"

namespace arca {

size_t FsckResult::damage() const {
  size_t n = 0;
  for (const auto& p : problems) n += p.debris ? 0 : 1;
  return n;
}

size_t FsckResult::debris() const { return problems.size() - damage(); }

size_t FsckResult::remaining() const {
  size_t n = 0;
  for (const auto& p : problems) n += p.repaired || p.debris ? 0 : 1;
  return n;
}

namespace {

// The digest of a stored blob's bytes, streamed.
Result<std::string> HashBlob(BlobStore& blobs, const Digest& d, uint64_t size) {
  auto body = blobs.OpenBlob(d, 0, size);
  if (!body.ok()) return body.status();
  Hasher h(d.algorithm());
  std::vector<char> buf(1 << 20);
  for (;;) {
    auto n = (*body)->Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    h.Update(buf.data(), *n);
  }
  return std::string(AlgorithmName(d.algorithm())) + ":" + h.HexDigest();
}

// A problem found, and how --repair mends it (none: reported only).
struct Finding {
  std::function<Status()> repair;
  bool deletes_blob = false;  // counts against max_delete_fraction
};

}  // namespace

Result<FsckResult> RunFsck(MetaStore& meta, BlobStore& blobs, const FsckOptions& o) {
  FsckResult out;
  std::vector<Finding> findings;  // parallel to out.problems
  auto add = [&](std::string kind, std::string object, std::string detail,
                 Finding finding = {}) -> FsckProblem& {
    out.problems.push_back({std::move(kind), std::move(object), std::move(detail), false, false});
    findings.push_back(std::move(finding));
    return out.problems.back();
  };

  // Records first, then files, then pending deletions: with a server running beside, a blob
  // recorded meanwhile has its file by the time files are listed, and a record GC removes
  // meanwhile is pending by the time that list is read. Every candidate is checked again
  // before it is reported. Nothing is repaired until everything is found, so that a repair
  // too large to be plausible is refused as a whole.
  std::vector<std::pair<std::string, uint64_t>> recorded;
  ARCA_RETURN_IF_ERROR(meta.ForEachBlob([&](const std::string& d, uint64_t size) {
    recorded.emplace_back(d, size);
  }));
  std::map<std::string, BlobStore::Listed> files;
  std::vector<BlobStore::Listed> strays;
  ARCA_RETURN_IF_ERROR(blobs.ListBlobs([&](const BlobStore::Listed& f) {
    if (f.name.empty()) {
      strays.push_back(f);
    } else {
      files[f.name] = f;
    }
  }));
  // Blobs whose record is gone but whose bytes a pass has yet to remove are not orphans.
  std::set<std::string> pending;
  if (auto p = meta.PendingBlobDeletions(1u << 30); p.ok()) pending.insert(p->begin(), p->end());
  auto still_recorded = [&](const std::string& d) {
    auto r = meta.BlobRecorded(d);
    return !r.ok() || *r;
  };

  for (const auto& [text, size] : recorded) {
    ++out.blobs_checked;
    auto it = files.find(text);
    std::string kind, detail;
    if (it == files.end()) {
      kind = "missing-blob";
      detail = "recorded with " + std::to_string(size) + " bytes; no file";
    } else {
      if (it->second.size != size) {
        kind = "missing-blob";
        detail = "recorded with " + std::to_string(size) + " bytes; the file has " +
                 std::to_string(it->second.size);
      } else if (o.verify_digests) {
        auto d = Digest::Parse(text);
        auto got = d.ok() ? HashBlob(blobs, *d, size) : Result<std::string>(d.status());
        if (!got.ok()) {
          kind = "missing-blob";
          detail = "unreadable: " + got.status().detail();
        } else if (*got != text) {
          kind = "digest-mismatch";
          detail = "the file's content hashes to " + *got;
        }
      }
      files.erase(it);
    }
    if (kind.empty() || !still_recorded(text)) continue;  // collected meanwhile: not a problem
    std::string digest = text;
    add(kind, text, detail, {[&meta, &blobs, digest]() -> Status {
          ARCA_RETURN_IF_ERROR(meta.ForgetBlob(digest));
          auto d = Digest::Parse(digest);
          return d.ok() ? blobs.DeleteBlob(*d) : Status::Ok();
        }, true});
  }
  // Bytes no record names: debris of an upload cut short between its bytes and its record
  // (nothing acknowledged), or of a pass that crashed after forgetting a blob.
  for (const auto& [name, f] : files) strays.push_back(f);
  out.blobs_known = recorded.size() + strays.size();
  for (const BlobStore::Listed& f : strays) {
    if (!f.name.empty() && (pending.count(f.name) || still_recorded(f.name))) continue;
    if (f.mtime > o.now - o.grace) continue;  // may be an upload taking its name
    add("orphan-file", f.path, std::to_string(f.size) + " bytes that no record names",
        {[&blobs, f] { return blobs.RemoveListed(f); }, true})
        .debris = true;
  }

  // Upload sessions against their data. A session whose data is gone is what a crash
  // between an upload's last step (its bytes renamed into place) and its record leaves; an
  // upload file without a session, what a crash brings back of a finished one.
  auto ids = meta.ListUploadIds();
  if (!ids.ok()) return ids.status();
  std::set<std::string> sessions(ids->begin(), ids->end());
  std::set<std::string> upload_files;
  ARCA_RETURN_IF_ERROR(blobs.ListUploads([&](const BlobStore::Listed& f) {
    if (!f.name.empty() && sessions.count(f.name)) {
      upload_files.insert(f.name);
      return;
    }
    if (f.mtime > o.now - o.grace) return;
    add("orphan-upload", f.path, "upload data with no session",
        {[&blobs, f] { return blobs.RemoveListed(f); }, false})
        .debris = true;
  }));
  for (const std::string& id : sessions) {
    if (upload_files.count(id)) continue;
    if (!blobs.ListsEmptyUploads()) {  // a session with no byte yet has nothing to list
      auto rec = meta.GetUpload(id);
      if (!rec.ok() || !rec->has_value() || (*rec)->offset == 0) continue;
    }
    add("orphan-upload", id, "an upload session whose data is gone",
        {[&meta, id] { return meta.DeleteUpload(id); }, false})
        .debris = true;
  }

  for (const Finding& f : findings) out.blob_deletions += f.deletes_blob ? 1 : 0;
  bool repair = o.repair;
  if (repair && !o.force && out.blob_deletions > 0 &&
      static_cast<double>(out.blob_deletions) >
          o.max_delete_fraction * static_cast<double>(out.blobs_known)) {
    char why[320];
    std::snprintf(why, sizeof why,
                  "it would delete %llu of the store's %llu blobs (%.0f%%), more than "
                  "--max-delete-fraction %.2f allows; so many at once suggests a lost or "
                  "wrong meta.db or a missing disk rather than damage. Check that, then "
                  "repair with --force",
                  static_cast<unsigned long long>(out.blob_deletions),
                  static_cast<unsigned long long>(out.blobs_known),
                  100.0 * static_cast<double>(out.blob_deletions) /
                      static_cast<double>(out.blobs_known ? out.blobs_known : 1),
                  o.max_delete_fraction);
    out.repair_refused = why;
    repair = false;
  }
  if (repair) {
    for (size_t i = 0; i < findings.size(); ++i) {
      if (!findings[i].repair) continue;
      Status s = findings[i].repair();
      out.problems[i].repaired = s.ok();
      if (!s.ok()) out.problems[i].detail += "; not repaired: " + s.detail();
    }
  }

  // References that lead nowhere (after the repairs above, which may have made some).
  auto dangling = meta.FindDanglingReferences();
  if (!dangling.ok()) return dangling.status();
  for (const DanglingReference& d : *dangling) {
    static const char* kKinds[] = {"config", "layer", "child manifest"};
    add("dangling-reference", d.repository + "@" + d.manifest,
        std::string(kKinds[d.kind < 0 || d.kind > 2 ? 1 : d.kind]) + " " + d.digest +
            (d.bytes_held ? " is stored but not linked to the repository" : " is not in the store"));
    if (repair && d.bytes_held) {
      ARCA_RETURN_IF_ERROR(meta.RelinkBlob(d.repository, d.digest));
      out.problems.back().repaired = true;
    }
  }

  // Manifest bytes against their digests.
  ARCA_RETURN_IF_ERROR(meta.ForEachManifest(
      [&](const std::string& repo, const std::string& digest, const std::string& content) {
        ++out.manifests_checked;
        auto d = Digest::Parse(digest);
        if (!d.ok()) {
          add("manifest-digest-mismatch", repo + "@" + digest, "not a valid digest");
          return;
        }
        Digest got = Digest::Of(d->algorithm(), content);
        if (!(got == *d)) add("manifest-digest-mismatch", repo + "@" + digest, "the bytes hash to " + got.str());
      }));
  return out;
}

}  // namespace arca
