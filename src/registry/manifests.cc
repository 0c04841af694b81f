// Registry: manifests, tags, referrers, the catalog and the recycle bin.
#include <algorithm>
#include <ctime>

#include "registry/manifest_facts.h"
#include "registry/policy.h"
#include "registry/registry.h"
#include "registry/type_catalog.h"
#include "types/media_types.h"

namespace arca {

static std::string Describe(const Reference& r) {
  return r.is_digest() ? r.digest->str() : r.tag;
}

// Which references may be absent (docs/gc.md#foreign-content): foreign candidates are
// non-distributable layers, descriptors with urls, and an index's children where the rule
// allows sparse indexes; the rule's `foreign` decides whether an absent one is accepted.
// A URL is under a prefix only at a boundary: "https://r.example" admits "https://r.example/x"
// but not "https://r.example.evil/x".
static bool UnderPrefix(const std::string& url, const std::string& prefix) {
  if (!url.starts_with(prefix)) return false;
  if (url.size() == prefix.size() || prefix.ends_with('/')) return true;
  char next = url[prefix.size()];
  return next == '/' || next == '?' || next == '#';
}

static void DecideForeign(const PolicyRule* rule, NewManifest& m) {
  ForeignMode mode = rule ? rule->foreign : ForeignMode::kAllow;
  bool sparse = rule && rule->sparse;
  if (rule) m.foreign_rule = "policy rule \"" + rule->repositories + "\"";
  m.foreign_denied.assign(m.refs.size(), false);
  for (size_t i = 0; i < m.refs.size(); ++i) {
    ManifestRef& r = m.refs[i];
    const Descriptor& d = r.descriptor;
    bool sparse_child = r.kind == RefKind::kManifest && sparse;
    // A config is read at push (types, policy, facts): it must always be here.
    bool candidate = r.kind != RefKind::kConfig &&
                     (media::IsNonDistributable(d.media_type) || !d.urls.empty() || sparse_child);
    bool allowed = false;
    if (candidate) {
      switch (mode) {
        case ForeignMode::kAllow: allowed = true; break;
        case ForeignMode::kDeny: allowed = false; break;
        case ForeignMode::kUrlPrefixes:
          allowed = !d.urls.empty();
          for (const std::string& url : d.urls) {
            bool ok = false;
            for (const std::string& prefix : rule->foreign_urls) ok |= UnderPrefix(url, prefix);
            allowed &= ok;
          }
          // A sparse child named only by digest: `sparse` itself allows it.
          if (d.urls.empty() && sparse_child) allowed = true;
          break;
      }
    }
    r.foreign = allowed;
    m.foreign_denied[i] = candidate && !allowed;
  }
}

Status Registry::ManifestUnknown(const std::string& repo, const Reference& reference) {
  auto exists = meta_.RepositoryExists(repo);
  if (!exists.ok()) return exists.status();
  if (!*exists) return Status(ErrorCode::kNameUnknown, "repository name not known to registry", repo);
  return Status(ErrorCode::kManifestUnknown, "manifest unknown to registry", Describe(reference));
}

Result<PushedManifest> Registry::PutManifest(const RequestContext& ctx, const std::string& repo,
                                             const Reference& reference,
                                             const std::string& content_type, std::string bytes,
                                             const std::vector<std::string>& extra_tags,
                                             std::vector<std::string>* skip_taken_tags) {
  auto parsed = ParseManifest(content_type, bytes);
  if (!parsed.ok()) return parsed.status();
  Digest digest = Digest::Of(
      reference.is_digest() ? reference.digest->algorithm() : DigestAlgorithm::kSha256, bytes);
  if (reference.is_digest() && !(digest == *reference.digest)) {
    return Status(ErrorCode::kDigestInvalid, "manifest digest does not match its content",
                  "the content's digest is " + digest.str());
  }
  std::string type = IdentifyArtifactType(*parsed);
  TypeCatalog::TypePtr def = types_ ? types_->Find(type) : nullptr;
  std::optional<std::string> config = ReadConfig(repo, *parsed);
  std::vector<std::string> warnings;
  std::shared_ptr<const Policy> policy;
  if (policy_) {
    auto in_force = policy_->InForce();  // fails closed while a stored policy is unknown
    if (!in_force.ok()) return in_force.status();
    policy = std::move(*in_force);
  }
  const PolicyRule* rule = policy ? policy->Match(repo) : nullptr;
  if (rule) {
    std::vector<std::string> layers;
    for (const ManifestRef& r : parsed->refs) {
      if (r.kind == RefKind::kLayer) layers.push_back(r.descriptor.media_type);
    }
    std::string refused;
    for (auto& v : CheckPolicy(*rule, type, def.get(), layers, config ? &*config : nullptr)) {
      if (v.enforced) {
        refused += (refused.empty() ? "" : "; ") + v.message;
      } else {
        warnings.push_back(std::move(v.message));
      }
    }
    if (!refused.empty()) {
      return Status(ErrorCode::kManifestInvalid, "push refused by policy", refused);
    }
  }
  NewManifest m;
  m.record.type = type;
  IndexFacts(*parsed, config ? &*config : nullptr, def.get(), m.record);
  m.record.digest = digest.str();
  m.record.media_type = parsed->media_type;
  m.record.artifact_type = parsed->artifact_type;
  m.record.config_media_type = parsed->config_media_type;
  if (parsed->subject) m.record.subject = parsed->subject->digest.str();
  m.record.annotations_json = parsed->annotations_json;
  m.record.size = bytes.size();
  m.record.content = std::move(bytes);
  m.refs = std::move(parsed->refs);
  DecideForeign(rule, m);
  m.retention = RetentionFor(repo);
  m.tags = extra_tags;
  if (!reference.is_digest()) m.tags.insert(m.tags.begin(), reference.tag);
  m.skip_taken_tags = skip_taken_tags;
  ARCA_RETURN_IF_ERROR(meta_.PutManifest(repo, m));
  if (skip_taken_tags) {
    std::erase_if(m.tags, [&](const std::string& t) {
      return std::find(skip_taken_tags->begin(), skip_taken_tags->end(), t) != skip_taken_tags->end();
    });
  }
  if (!m.tags.empty()) NoteTagChange(repo, m.tags, {});
  for (const std::string& w : warnings) {
    // The push stands even if its warning cannot be recorded.
    (void)meta_.RecordEvent(Event{.kind = "policy.warn",
                                  .repository = repo,
                                  .digest = digest.str(),
                                  .message = w,
                                  .principal = ctx.principal,
                                  .request_id = ctx.request_id});
  }
  return PushedManifest{digest, m.record.subject, m.tags, type, std::move(warnings)};
}

std::optional<std::string> Registry::ReadConfig(const std::string& repo, const ParsedManifest& m) {
  for (const ManifestRef& r : m.refs) {
    if (r.kind != RefKind::kConfig) continue;
    const Descriptor& d = r.descriptor;
    if (d.size > kMaxIndexedConfigBytes) return std::nullopt;
    auto held = meta_.BlobInRepository(repo, d.digest.str());
    if (!held.ok() || !held->has_value() || **held != d.size) return std::nullopt;
    auto body = blobs_.OpenBlob(d.digest, 0, d.size);
    if (!body.ok()) return std::nullopt;
    std::string out(d.size, '\0');
    size_t got = 0;
    while (got < out.size()) {
      auto n = (*body)->Read(out.data() + got, out.size() - got);
      if (!n.ok() || *n == 0) return std::nullopt;
      got += *n;
    }
    return out;
  }
  return std::nullopt;
}

Result<ManifestRecord> Registry::GetManifest(const std::string& repo,
                                             const Reference& reference) {
  auto rec = reference.is_digest() ? meta_.GetManifest(repo, reference.digest->str())
                                   : meta_.GetTaggedManifest(repo, reference.tag);
  if (!rec.ok()) return rec.status();
  if (rec->has_value()) return std::move(**rec);
  return ManifestUnknown(repo, reference);
}

Status Registry::DeleteManifest(const RequestContext&, const std::string& repo,
                                const Reference& reference) {
  int64_t retention = RetentionFor(repo);
  auto removed = reference.is_digest() ? meta_.DeleteManifest(repo, reference.digest->str(), retention)
                                       : meta_.DeleteTag(repo, reference.tag, retention);
  if (!removed.ok()) return removed.status();
  if (*removed) {
    if (reference.is_digest()) {
      tag_index_.Forget(repo);  // its tags went with it; which ones is not known here
    } else {
      NoteTagChange(repo, {}, {reference.tag});
    }
    return Status::Ok();
  }
  return ManifestUnknown(repo, reference);
}

Result<Page<std::string>> Registry::ListTags(const std::string& repo, const std::string& after,
                                             size_t limit) {
  Page<std::string> page;
  auto more = VisitTags(repo, after, limit, [&](const std::string& t) { page.items.push_back(t); });
  if (!more.ok()) return more.status();
  page.more = *more;
  return page;
}

Result<bool> Registry::VisitTags(const std::string& repo, const std::string& after, size_t limit,
                                 const std::function<void(const std::string&)>& fn) {
  auto generation = meta_.TagsGeneration(repo);
  if (!generation.ok()) return generation.status();
  if (!generation->has_value()) {
    return Status(ErrorCode::kNameUnknown, "repository name not known to registry", repo);
  }
  if (auto more = tag_index_.Visit(repo, **generation, after, limit, fn)) return *more;
  // A miss: read every tag once (the index holds up to a bound), then serve from memory.
  constexpr size_t kMaxIndexed = 1'000'000;
  auto all = meta_.ListTags(repo, "", kMaxIndexed);
  if (!all.ok()) return all.status();
  if (!all->more) {
    tag_index_.Load(repo, **generation, all->items);
    if (auto more = tag_index_.Visit(repo, **generation, after, limit, fn)) return *more;
  }
  auto page = meta_.ListTags(repo, after, limit);
  if (!page.ok()) return page.status();
  for (const std::string& t : page->items) fn(t);
  return page->more;
}

void Registry::NoteTagChange(const std::string& repo, const std::vector<std::string>& added,
                             const std::vector<std::string>& removed) {
  auto g = meta_.TagsGeneration(repo);
  if (g.ok() && g->has_value()) {
    tag_index_.Changed(repo, **g, added, removed);
  } else {
    tag_index_.Forget(repo);
  }
}

Result<Page<std::string>> Registry::ListRepositories(const std::string& after, size_t limit) {
  return meta_.ListRepositories(after, limit);
}

Result<Page<ManifestRecord>> Registry::ListReferrers(const std::string& repo,
                                                     const Digest& subject,
                                                     const std::string& artifact_type,
                                                     const std::string& after, size_t limit) {
  return meta_.ListReferrers(repo, subject.str(), artifact_type, after, limit);
}

}  // namespace arca

namespace arca {

int64_t Registry::RetentionFor(const std::string& repo) const {
  if (policy_) {
    auto policy = policy_->Current();
    if (const PolicyRule* rule = policy->Match(repo); rule && rule->retention) return *rule->retention;
  }
  return default_retention_;
}

Result<Page<TrashEntry>> Registry::ListTrash(const std::string& repo, const std::string& after,
                                             size_t limit) {
  auto exists = meta_.RepositoryExists(repo);
  if (!exists.ok()) return exists.status();
  if (!*exists) return Status(ErrorCode::kNameUnknown, "repository name not known to registry", repo);
  return meta_.ListTrash(repo, after, limit, meta_.Clock());
}

Result<RestoredManifest> Registry::RestoreManifest(const RequestContext& ctx, const std::string& repo,
                                                   const Digest& digest) {
  auto entry = meta_.GetTrash(repo, digest.str(), meta_.Clock());
  if (!entry.ok()) return entry.status();
  if (!entry->has_value()) {
    return Status(ErrorCode::kManifestUnknown, "manifest not in the recycle bin", digest.str());
  }
  TrashEntry& e = **entry;
  std::string content = std::move(e.content);
  if (e.reason != "deleted") {  // untagged: still stored
    auto stored = meta_.GetManifest(repo, digest.str());
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) {
      return Status(ErrorCode::kManifestUnknown, "manifest not in the recycle bin", digest.str());
    }
    content = std::move((*stored)->content);
  }
  RestoredManifest out;
  // The same checks as any push: everything it references is still held (the recycle bin
  // kept it), and the policy in force now applies. Whether a tag is still free is decided in
  // the push's own transaction.
  Reference by_digest;
  by_digest.digest = digest;
  auto pushed = PutManifest(ctx, repo, by_digest, e.media_type, std::move(content), e.tags,
                            &out.skipped);
  if (!pushed.ok()) return pushed.status();
  for (const std::string& tag : e.tags) {
    if (std::find(out.skipped.begin(), out.skipped.end(), tag) == out.skipped.end()) {
      out.restored.push_back(tag);
    }
  }
  return out;
}

Status Registry::ExpireTrash(const RequestContext&, const std::string& repo,
                             const Digest& digest) {
  auto changed = meta_.ExpireTrash(repo, digest.str(), meta_.Clock());
  if (!changed.ok()) return changed.status();
  if (!*changed) return Status(ErrorCode::kManifestUnknown, "manifest not in the recycle bin", digest.str());
  return Status::Ok();
}

}  // namespace arca
