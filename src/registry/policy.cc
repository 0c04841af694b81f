#include "registry/policy.h"

#include <sys/stat.h>
#include <yaml-cpp/depthguard.h>  // not included by yaml.h in 0.7
#include <yaml-cpp/yaml.h>

#include "util/duration.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace arca {
namespace {

Status Bad(size_t index, const std::string& field, const std::string& why) {
  return Status(ErrorCode::kInternal, "invalid policy",
                "rules[" + std::to_string(index) + "]." + field + ": " + why);
}

Result<PolicyMode> ParseMode(const YAML::Node& n, size_t i, const char* field,
                             std::initializer_list<const char*> off_words,
                             std::initializer_list<const char*> enforce_words) {
  if (!n.IsScalar()) return Bad(i, field, "must be a word");
  std::string v = n.as<std::string>();
  if (v == "warn") return PolicyMode::kWarn;
  for (const char* w : off_words) if (v == w) return PolicyMode::kOff;
  for (const char* w : enforce_words) if (v == w) return PolicyMode::kEnforce;
  std::string allowed;
  for (const char* w : off_words) allowed += std::string(w) + ", ";
  allowed += "warn";
  for (const char* w : enforce_words) allowed += std::string(", ") + w;
  return Bad(i, field, "\"" + v + "\" is not one of " + allowed);
}

const char* Word(PolicyMode m) { return m == PolicyMode::kEnforce ? "enforced" : "warned"; }

}  // namespace

bool GlobMatch(std::string_view p, std::string_view s) {
  if (p.empty()) return s.empty();
  if (p.starts_with("**")) {
    std::string_view rest = p.substr(2);
    for (size_t i = 0; i <= s.size(); ++i) {
      if (GlobMatch(rest, s.substr(i))) return true;
    }
    return false;
  }
  if (p[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i) {
      if (GlobMatch(p.substr(1), s.substr(i))) return true;
      if (i < s.size() && s[i] == '/') break;
    }
    return false;
  }
  return !s.empty() && p[0] == s[0] && GlobMatch(p.substr(1), s.substr(1));
}

Result<Policy> Policy::Parse(const std::string& yaml_text) {
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml_text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp (0.7+) stops its recursive parser at a fixed depth, with the message "bad file".
    // Below that depth nothing here recurses: rules are read three levels down at most.
    return Status(ErrorCode::kInternal, "invalid policy",
                  "sequences and mappings nest deeper than " + std::to_string(e.depth()) +
                      " levels, yaml-cpp's limit (line " + std::to_string(e.mark.line + 1) + ")");
  } catch (const YAML::Exception& e) {
    return Status(ErrorCode::kInternal, "invalid policy", std::string("not YAML: ") + e.what());
  }
  Policy policy;
  if (doc.IsNull()) return policy;
  if (!doc.IsMap() || !doc["rules"] || !doc["rules"].IsSequence()) {
    return Status(ErrorCode::kInternal, "invalid policy", "the document needs a `rules:` list");
  }
  size_t i = 0;
  for (const auto& r : doc["rules"]) {
    if (!r.IsMap()) return Bad(i, "(rule)", "must be a mapping");
    PolicyRule rule;
    for (const auto& kv : r) {
      std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (key == "repositories") {
        if (!v.IsScalar() || v.as<std::string>().empty()) return Bad(i, key, "must be a glob");
        rule.repositories = v.as<std::string>();
      } else if (key == "allow") {
        if (!v.IsSequence()) return Bad(i, key, "must be a list of media types");
        for (const auto& t : v) {
          if (!t.IsScalar() || !IsMediaType(t.as<std::string>())) return Bad(i, key, "must be a list of media types");
          rule.allow.push_back(t.as<std::string>());
        }
      } else if (key == "disallowed") {
        auto m = ParseMode(v, i, "disallowed", {}, {"deny"});
        if (!m.ok()) return m.status();
        rule.disallowed = *m;
      } else if (key == "unknown") {
        auto m = ParseMode(v, i, "unknown", {"allow"}, {"deny"});
        if (!m.ok()) return m.status();
        rule.unknown = *m;
      } else if (key == "layers" || key == "config") {
        auto m = ParseMode(v, i, key.c_str(), {"off"}, {"enforce"});
        if (!m.ok()) return m.status();
        (key == "layers" ? rule.layers : rule.config) = *m;
      } else if (key == "foreign") {
        if (v.IsSequence()) {
          rule.foreign = ForeignMode::kUrlPrefixes;
          for (const auto& u : v) {
            if (!u.IsScalar() || u.as<std::string>().empty()) return Bad(i, key, "URL prefixes must be non-empty strings");
            rule.foreign_urls.push_back(u.as<std::string>());
          }
          if (rule.foreign_urls.empty()) return Bad(i, key, "an empty list allows nothing: use deny");
        } else if (v.IsScalar() && (v.as<std::string>() == "allow" || v.as<std::string>() == "deny")) {
          rule.foreign = v.as<std::string>() == "allow" ? ForeignMode::kAllow : ForeignMode::kDeny;
        } else {
          return Bad(i, key, "must be allow, deny or a list of URL prefixes");
        }
      } else if (key == "sparse") {
        if (!v.IsScalar() || (v.as<std::string>() != "true" && v.as<std::string>() != "false")) {
          return Bad(i, key, "must be true or false");
        }
        rule.sparse = v.as<std::string>() == "true";
      } else if (key == "retention") {
        if (!v.IsScalar()) return Bad(i, key, "must be a duration");
        auto d = ParseDuration(v.as<std::string>());
        if (!d.ok()) return Bad(i, key, d.status().detail());
        rule.retention = *d;
      } else {
        return Bad(i, key, "unknown field");
      }
    }
    policy.rules_.push_back(std::move(rule));
    ++i;
  }
  return policy;
}

const PolicyRule* Policy::Match(const std::string& repository) const {
  for (const PolicyRule& r : rules_) {
    if (GlobMatch(r.repositories, repository)) return &r;
  }
  return nullptr;
}

std::vector<PolicyViolation> CheckPolicy(const PolicyRule& rule, const std::string& type,
                                         const ArtifactType* def,
                                         const std::vector<std::string>& layer_types,
                                         const std::string* config_json) {
  std::vector<PolicyViolation> out;
  std::string where = "policy rule \"" + rule.repositories + "\": ";
  auto add = [&](PolicyMode mode, std::string msg) {
    if (mode != PolicyMode::kOff) {
      out.push_back({mode == PolicyMode::kEnforce, where + msg + " (" + Word(mode) + ")"});
    }
  };
  if (!rule.allow.empty() && std::find(rule.allow.begin(), rule.allow.end(), type) == rule.allow.end()) {
    std::string allowed;
    for (const auto& a : rule.allow) allowed += (allowed.empty() ? "" : ", ") + a;
    add(rule.disallowed, "artifact type \"" + type + "\" is not allowed; allowed types: " + allowed);
  }
  if (!def) {
    add(rule.unknown, "artifact type \"" + type + "\" has no definition (unknown types: " +
                          (rule.unknown == PolicyMode::kEnforce ? "deny" : "warn") + ")");
    return out;
  }
  if (rule.layers != PolicyMode::kOff) {
    for (const std::string& l : layer_types) {
      if (!def->AllowsLayer(l)) {
        std::string allowed;
        for (const auto& a : def->layer_media_types) allowed += (allowed.empty() ? "" : ", ") + a;
        add(rule.layers, "layer media type \"" + l + "\" is not one of " + def->title + "'s: " + allowed);
      }
    }
  }
  if (rule.config != PolicyMode::kOff && def->config_schema) {
    Status s = config_json ? def->config_schema->Validate(*config_json)
                           : Status(ErrorCode::kManifestInvalid, "", "the config blob could not be read");
    if (!s.ok()) add(rule.config, "config does not match " + def->title + "'s configSchema: " + s.detail());
  }
  return out;
}

PolicyStore::PolicyStore(std::string path)
    : path_(std::move(path)), file_(std::make_shared<Policy>()) {}

PolicyStore::~PolicyStore() {
  stop_ = true;
  if (watcher_.joinable()) watcher_.join();
}

std::string PolicyStore::Signature() const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) return "absent";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

Status PolicyStore::LoadFile() {
  signature_ = Signature();
  if (signature_ == "absent") return Status::Ok();
  std::ifstream in(path_);
  std::stringstream ss;
  ss << in.rdbuf();
  auto p = Policy::Parse(ss.str());
  if (!p.ok()) return Status(p.status().code(), p.status().message(), path_ + ": " + p.status().detail());
  std::lock_guard<std::mutex> lock(mu_);
  file_ = std::make_shared<const Policy>(std::move(*p));
  return Status::Ok();
}

Status PolicyStore::Load() {
  ARCA_RETURN_IF_ERROR(LoadFile());
  if (!meta_) return Status::Ok();
  std::lock_guard<std::mutex> lock(refresh_mu_);
  // A stored policy this build cannot read (written by a newer one) or a database not
  // reachable yet must not keep the server from starting: the file's policy is in force and
  // the watcher tries again (RefreshStored logs why).
  (void)RefreshStored(/*force=*/true);
  return Status::Ok();
}

void PolicyStore::Reload() {
  Status s = LoadFile();
  if (!s.ok()) std::fprintf(stderr, "arca: policy not reloaded, the previous one stays: %s\n", s.detail().c_str());
  if (s.ok() && signature_ == "absent") {
    std::lock_guard<std::mutex> lock(mu_);
    file_ = std::make_shared<const Policy>();
  }
}

Status PolicyStore::RefreshStored(bool force) {
  auto version = meta_->SettingsVersion();
  Status s = version.status();
  if (s.ok() && !force && *version == stored_version_) return Status::Ok();
  std::optional<std::string> text;
  if (s.ok()) {
    auto got = meta_->GetSetting("policy");
    if (got.ok()) text = std::move(*got);
    s = got.status();
  }
  std::shared_ptr<const Policy> parsed;
  if (s.ok() && text) {
    auto p = Policy::Parse(*text);
    if (p.ok()) {
      parsed = std::make_shared<const Policy>(std::move(*p));
    } else {  // checked when stored; only a newer build's policy could fail here
      s = Status(p.status().code(), p.status().message(), "stored policy: " + p.status().detail());
      std::lock_guard<std::mutex> lock(mu_);
      stored_.reset();
      unreadable_ = "the stored policy cannot be read by this arca (" + p.status().detail() + ")";
      stored_version_ = *version;  // read again when it changes
    }
  } else if (!s.ok() && stored_version_ < 0) {
    std::lock_guard<std::mutex> lock(mu_);
    unreadable_ = "the stored policy has not been read yet (" + s.message() + ")";
  }
  if (!s.ok()) {
    uint64_t held_back = 0;
    if (refresh_errors_.Allow("policy", std::time(nullptr), &held_back)) {
      std::fprintf(stderr, "arca: stored policy not read (pushes wait while it is unknown): "
                           "%s: %s\n",
                   s.message().c_str(), s.detail().c_str());
    }
    return s;
  }
  stored_version_ = *version;
  std::lock_guard<std::mutex> lock(mu_);
  stored_ = std::move(parsed);
  unreadable_.clear();
  return Status::Ok();
}

void PolicyStore::Watch(int interval_ms) {
  watcher_ = std::thread([this, interval_ms] {
    // The stored policy is looked at every quarter second (one cheap query), the file every
    // interval.
    constexpr int kStoredMs = 250;
    int since_file = 0;
    while (!stop_) {
      for (int waited = 0; waited < kStoredMs && !stop_; waited += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (stop_) break;
      since_file += kStoredMs;
      if (meta_) {
        std::lock_guard<std::mutex> lock(refresh_mu_);
        (void)RefreshStored(false);  // logs its own trouble
      }
      if (since_file >= interval_ms) {
        since_file = 0;
        if (Signature() != signature_) Reload();
      }
    }
  });
}

std::shared_ptr<const Policy> PolicyStore::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stored_ ? stored_ : file_;
}

Result<std::shared_ptr<const Policy>> PolicyStore::InForce() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!unreadable_.empty()) {
    return Status(ErrorCode::kUnavailable, "type policy unavailable",
                  unreadable_ + "; pushes wait until it can be read");
  }
  return stored_ ? stored_ : file_;
}

Result<std::optional<std::string>> PolicyStore::Stored() {
  if (!meta_) return std::optional<std::string>();
  return meta_->GetSetting("policy");
}

Status PolicyStore::SetStored(const std::optional<std::string>& yaml) {
  if (!meta_) return Status(ErrorCode::kUnsupported, "no shared policy", "this store keeps none");
  if (yaml) {
    auto p = Policy::Parse(*yaml);
    if (!p.ok()) return Status(ErrorCode::kManifestInvalid, "invalid policy", p.status().detail());
  }
  ARCA_RETURN_IF_ERROR(meta_->PutSetting("policy", yaml));
  std::lock_guard<std::mutex> lock(refresh_mu_);
  (void)RefreshStored(/*force=*/true);  // stored: a failed re-read only delays it here
  return Status::Ok();
}

}  // namespace arca
