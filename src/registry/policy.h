// Type policy: which artifact types a repository accepts and how strictly their layers and
// configs are checked (format in docs/arca-api.md). Rules are matched by repository glob,
// first match wins; no file or no match means everything is allowed.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta_store.h"
#include "types/artifact_type.h"
#include "util/log_limiter.h"
#include "util/status.h"

namespace arca {

enum class PolicyMode { kOff, kWarn, kEnforce };
// What a repository accepts of content that lives elsewhere (docs/gc.md#foreign-content).
enum class ForeignMode { kAllow, kDeny, kUrlPrefixes };

struct PolicyRule {
  std::string repositories = "**";  // glob: '*' within a path component, '**' across
  std::vector<std::string> allow;   // empty: any type
  PolicyMode disallowed = PolicyMode::kEnforce;
  PolicyMode unknown = PolicyMode::kOff;
  PolicyMode layers = PolicyMode::kOff;
  PolicyMode config = PolicyMode::kOff;
  ForeignMode foreign = ForeignMode::kAllow;
  std::vector<std::string> foreign_urls;  // with kUrlPrefixes
  bool sparse = false;                    // an index's children may be absent
  std::optional<int64_t> retention;       // seconds; the registry default when unset
};

struct PolicyViolation {
  bool enforced = false;
  std::string message;  // names the rule and the check
};

class Policy {
 public:
  // Parses the YAML document; errors name the rule index and field.
  static Result<Policy> Parse(const std::string& yaml_text);
  const PolicyRule* Match(const std::string& repository) const;
  const std::vector<PolicyRule>& rules() const { return rules_; }

 private:
  std::vector<PolicyRule> rules_;
};

// Glob match of a repository name: '*' matches within one path component, '**' any run.
bool GlobMatch(std::string_view pattern, std::string_view name);

// What a rule says about a manifest of `type` (its definition or null when unknown), its
// layer media types, and its config (empty when there is none or it could not be read).
std::vector<PolicyViolation> CheckPolicy(const PolicyRule& rule, const std::string& type,
                                         const ArtifactType* definition,
                                         const std::vector<std::string>& layer_types,
                                         const std::string* config_json);

// The policy in force: the one stored in the metadata (set through /arca/v1/policy, shared by
// every process on the store, polled every quarter second) when there is one, else the
// policy file, re-read when it changes. A file that fails to parse is reported and the
// previous policy stays in force. Thread-safe.
class PolicyStore {
 public:
  explicit PolicyStore(std::string path);
  ~PolicyStore();
  // Before Load: where the stored policy lives (none: the file only).
  void ShareThrough(MetaStore* meta) { meta_ = meta; }
  Status Load();  // a missing file is an empty policy; a malformed one is an error
  void Watch(int interval_ms);
  std::shared_ptr<const Policy> Current() const;
  // The policy pushes are checked against: Current(), or UNAVAILABLE while a stored policy
  // exists that this process cannot read (a newer release wrote it) or has not read yet (the
  // database was out of reach at start). Fails closed: a policy that denies is never
  // bypassed by falling back to the file.
  Result<std::shared_ptr<const Policy>> InForce() const;

  // The stored policy's YAML, or nullopt when the file's is in force.
  Result<std::optional<std::string>> Stored();
  // Stores yaml (checked: MANIFEST_INVALID naming the rule and field) or, with nullopt, goes
  // back to the file. In force here at once, on other replicas within a second.
  Status SetStored(const std::optional<std::string>& yaml);
  const std::string& path() const { return path_; }

 private:
  void Reload();
  std::string Signature() const;
  Status LoadFile();
  // Reads the stored policy again when the settings version moved (or force).
  Status RefreshStored(bool force);

  std::string path_;
  MetaStore* meta_ = nullptr;
  std::mutex refresh_mu_;  // one RefreshStored at a time
  int64_t stored_version_ = -1;             // GUARDED_BY(refresh_mu_)
  LogLimiter refresh_errors_{1, 60};  // one line a minute while the store cannot be read
  std::shared_ptr<const Policy> file_;      // GUARDED_BY(mu_)
  std::shared_ptr<const Policy> stored_;    // GUARDED_BY(mu_): null when none is stored
  std::string unreadable_;  // GUARDED_BY(mu_): why the stored policy is unknown; "" when known
  mutable std::mutex mu_;
  std::string signature_;                  // touched by Load and the watcher only
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

}  // namespace arca
