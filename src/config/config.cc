#include "config/config.h"

#include "util/duration.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <map>

namespace arca {
namespace {

Status Bad(const std::string& key, const std::string& want) {
  return Status(ErrorCode::kInternal, "invalid setting", key + ": expected " + want);
}

Status ParseInt(const std::string& key, const std::string& v, long long lo, long long hi,
                long long& out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || out < lo || out > hi) {
    return Bad(key, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return Status::Ok();
}

Status ParseBool(const std::string& key, const std::string& v, bool& out) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "0" || v == "no" || v == "off") {
    out = false;
  } else {
    return Bad(key, "true or false");
  }
  return Status::Ok();
}

using Setter = std::function<Status(Config&, const std::string&, const std::string&)>;

Setter IntSetter(long long lo, long long hi, std::function<void(Config&, long long)> set) {
  return [=](Config& c, const std::string& k, const std::string& v) {
    long long n = 0;
    ARCA_RETURN_IF_ERROR(ParseInt(k, v, lo, hi, n));
    set(c, n);
    return Status::Ok();
  };
}

Setter DurationSetter(int64_t Config::*field) {
  return [=](Config& c, const std::string& k, const std::string& v) {
    auto d = ParseDuration(v);
    if (!d.ok()) return Bad(k, "a duration such as 90s, 10m, 1h or 7d");
    c.*field = *d;
    return Status::Ok();
  };
}

const std::map<std::string, Setter>& Setters() {
  static const std::map<std::string, Setter> kSetters = {
      {"addr", [](Config& c, const std::string& k, const std::string& v) {
         if (v.find(':') == std::string::npos) return Bad(k, "host:port");
         c.addr = v;
         return Status::Ok();
       }},
      {"root", [](Config& c, const std::string& k, const std::string& v) {
         if (v.empty()) return Bad(k, "a directory");
         c.root = v;
         return Status::Ok();
       }},
      {"max_connections", IntSetter(1, 100000, [](Config& c, long long n) { c.max_connections = n; })},
      {"idle_timeout", IntSetter(1, 3600, [](Config& c, long long n) { c.idle_timeout = n; })},
      {"io_timeout", IntSetter(1, 3600, [](Config& c, long long n) { c.io_timeout = n; })},
      {"max_connections_per_client",
       IntSetter(0, 100000, [](Config& c, long long n) { c.max_connections_per_client = n; })},
      {"header_timeout", IntSetter(1, 3600, [](Config& c, long long n) { c.header_timeout = n; })},
      {"min_rate", IntSetter(0, 1 << 30, [](Config& c, long long n) { c.min_rate = n; })},
      {"rate_window", IntSetter(1, 3600, [](Config& c, long long n) { c.rate_window = n; })},
      {"io_threads", IntSetter(0, 256, [](Config& c, long long n) { c.io_threads = n; })},
      {"shutdown_grace", IntSetter(0, 3600, [](Config& c, long long n) { c.shutdown_grace = n; })},
      {"shutdown_delay", IntSetter(0, 600, [](Config& c, long long n) { c.shutdown_delay = n; })},
      {"metrics_loopback", [](Config& c, const std::string& k, const std::string& v) {
         return ParseBool(k, v, c.metrics_loopback);
       }},
      {"access_log", [](Config& c, const std::string& k, const std::string& v) {
         return ParseBool(k, v, c.access_log);
       }},
      {"auto_mount", [](Config& c, const std::string& k, const std::string& v) {
         return ParseBool(k, v, c.auto_mount);
       }},
      {"blobs", [](Config& c, const std::string& k, const std::string& v) {
         if (!v.empty() && !v.starts_with("s3://")) {
           return Status(ErrorCode::kInternal, "invalid setting",
                         k + ": empty (the local disk under root) or s3://bucket[/prefix]?...");
         }
         c.blobs = v;
         return Status::Ok();
       }},
      {"metadata", [](Config& c, const std::string& k, const std::string& v) {
         if (!v.empty() && !v.starts_with("postgres://") && !v.starts_with("postgresql://")) {
           return Status(ErrorCode::kInternal, "invalid setting",
                         k + ": empty (SQLite at <root>/meta.db) or postgres://...");
         }
         c.metadata = v;
         return Status::Ok();
       }},
      {"migrate", [](Config& c, const std::string& k, const std::string& v) {
         if (v != "auto" && v != "manual") {
           return Status(ErrorCode::kInternal, "invalid setting", k + ": auto or manual");
         }
         c.migrate = v;
         return Status::Ok();
       }},
      {"blob_redirect", [](Config& c, const std::string&, const std::string& v) {
         c.blob_redirect = v;
         return Status::Ok();
       }},
      {"blob_redirect_ttl", DurationSetter(&Config::blob_redirect_ttl)},
      {"types_dir", [](Config& c, const std::string&, const std::string& v) {
         c.types_dir = v;
         return Status::Ok();
       }},
      {"policy_file", [](Config& c, const std::string&, const std::string& v) {
         c.policy_file = v;
         return Status::Ok();
       }},
      {"admin_token", [](Config& c, const std::string& k, const std::string& v) {
         if (!v.empty() && v.size() < 16) return Bad(k, "at least 16 characters");
         c.admin_token = v;
         return Status::Ok();
       }},
      {"auth", [](Config& c, const std::string& k, const std::string& v) {
         if (v != "none" && v != "token") return Bad(k, "none or token");
         c.auth = v;
         return Status::Ok();
       }},
      {"auth_service", [](Config& c, const std::string& k, const std::string& v) {
         bool ok = !v.empty() && v.size() <= 128 &&
                   v.find_first_of("\"\\ ,;\r\n\t") == std::string::npos;
         if (!ok) return Bad(k, "1 to 128 characters without quotes, spaces, commas or ';'");
         c.auth_service = v;
         return Status::Ok();
       }},
      {"token_ttl", DurationSetter(&Config::token_ttl)},
      {"external_url", [](Config& c, const std::string& k, const std::string& v) {
         bool ok = v.empty() || ((v.starts_with("http://") || v.starts_with("https://")) &&
                                 v.size() <= 512 && !v.ends_with("/") &&
                                 v.find_first_of("\"\\ ,;\r\n\t") == std::string::npos);
         if (!ok) return Bad(k, "an http:// or https:// URL without a trailing '/'");
         c.external_url = v;
         return Status::Ok();
       }},
      {"tls_cert", [](Config& c, const std::string&, const std::string& v) {
         c.tls_cert = v;
         return Status::Ok();
       }},
      {"tls_key", [](Config& c, const std::string&, const std::string& v) {
         c.tls_key = v;
         return Status::Ok();
       }},
      {"metrics_token", [](Config& c, const std::string& k, const std::string& v) {
         if (!v.empty() && (v.size() < 16 || v.size() > 512 ||
                            v.find_first_of(" \t\r\n\"\\") != std::string::npos)) {
           return Bad(k, "16 to 512 characters without spaces or quotes");
         }
         c.metrics_token = v;
         return Status::Ok();
       }},
      {"auth_keys_dir", [](Config& c, const std::string&, const std::string& v) {
         c.auth_keys_dir = v;
         return Status::Ok();
       }},
      {"trusted_issuers", [](Config& c, const std::string&, const std::string& v) {
         c.trusted_issuers = v;
         return Status::Ok();
       }},
      {"insecure_open", [](Config& c, const std::string& k, const std::string& v) {
         return ParseBool(k, v, c.insecure_open);
       }},
      {"audit_retention", DurationSetter(&Config::audit_retention)},
      {"audit_max_entries", IntSetter(1000, 1'000'000'000'000LL,
                                      [](Config& c, long long n) { c.audit_max_entries = n; })},
      {"gc_interval", DurationSetter(&Config::gc_interval)},
      {"gc_retention", DurationSetter(&Config::gc_retention)},
      {"gc_blob_grace", DurationSetter(&Config::gc_blob_grace)},
      {"gc_upload_ttl", DurationSetter(&Config::gc_upload_ttl)},
      {"gc_referrers", [](Config& c, const std::string& k, const std::string& v) {
         return ParseBool(k, v, c.gc_referrers);
       }},
  };
  return kSetters;
}

}  // namespace

std::vector<std::string> ConfigKeys() {
  std::vector<std::string> keys;
  for (const auto& [k, s] : Setters()) keys.push_back(k);
  return keys;
}

Status SetConfigValue(Config& config, const std::string& key, const std::string& value) {
  auto it = Setters().find(key);
  if (it == Setters().end()) {
    return Status(ErrorCode::kInternal, "unknown setting", key);
  }
  return it->second(config, key, value);
}

Status ApplyYamlFile(Config& config, const std::string& path) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Status(ErrorCode::kInternal, "cannot read config file", path + ": " + e.what());
  }
  if (doc.IsNull()) return Status::Ok();
  if (!doc.IsMap()) return Status(ErrorCode::kInternal, "invalid config file", path + ": not a mapping");
  for (const auto& kv : doc) {
    std::string key = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) {
      return Status(ErrorCode::kInternal, "invalid config file", path + ": " + key + " is not a scalar");
    }
    Status s = SetConfigValue(config, key, kv.second.as<std::string>());
    if (!s.ok()) return Status(s.code(), s.message(), path + ": " + s.detail());
  }
  return Status::Ok();
}

Status ApplyEnvironment(Config& config) {
  for (const std::string& key : ConfigKeys()) {
    std::string var = "ARCA_" + key;
    std::transform(var.begin(), var.end(), var.begin(), ::toupper);
    if (const char* v = std::getenv(var.c_str())) {
      Status s = SetConfigValue(config, key, v);
      if (!s.ok()) return Status(s.code(), s.message(), var + ": " + s.detail());
    }
  }
  return Status::Ok();
}

Status ApplyFlags(Config& config, const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--")) return Status(ErrorCode::kInternal, "unexpected argument", a);
    std::string key = a.substr(2), value;
    size_t eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Status(ErrorCode::kInternal, "missing value", a);
    }
    std::replace(key.begin(), key.end(), '-', '_');
    if (key == "config") continue;
    ARCA_RETURN_IF_ERROR(SetConfigValue(config, key, value));
  }
  return Status::Ok();
}

}  // namespace arca
