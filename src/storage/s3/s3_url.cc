// ParseS3Url: the `blobs` setting's s3:// form (s3_blob_store.h).
#include <cstdlib>

#include "storage/s3/s3_blob_store.h"

namespace arca {
namespace {

Status Bad(const std::string& why) {
  return Status(ErrorCode::kInternal, "invalid blobs setting", why);
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      char hex[3] = {s[i + 1], s[i + 2], 0};
      char* end = nullptr;
      long v = std::strtol(hex, &end, 16);
      if (end == hex + 2) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

bool ValidBucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

bool ValidPrefix(const std::string& p) {
  for (char c : p) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == '/')) {
      return false;
    }
  }
  return p.find("..") == std::string::npos && p.find("//") == std::string::npos;
}

}  // namespace

Result<S3StoreOptions> ParseS3Url(const std::string& url) {
  if (!url.starts_with("s3://")) return Bad("an S3 store is given as s3://bucket[/prefix]?...");
  std::string rest = url.substr(5), query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3StoreOptions o;
  size_t slash = rest.find('/');
  o.client.bucket = rest.substr(0, slash);
  if (!ValidBucket(o.client.bucket)) {
    return Bad("bucket '" + o.client.bucket + "': 3 to 63 of a-z, 0-9, '.' and '-'");
  }
  if (slash != std::string::npos) {
    o.prefix = rest.substr(slash + 1);
    while (!o.prefix.empty() && o.prefix.back() == '/') o.prefix.pop_back();
    if (!ValidPrefix(o.prefix) || o.prefix.starts_with("/")) {
      return Bad("prefix '" + o.prefix + "': letters, digits, '-', '_', '.' and single '/'");
    }
    if (!o.prefix.empty()) o.prefix += '/';
  }
  std::string addressing;
  size_t at = 0;
  while (at < query.size()) {
    size_t amp = query.find('&', at);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(at, amp - at);
    at = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string k = pair.substr(0, eq), v = eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1));
    if (k == "endpoint") {
      o.client.endpoint = v;
    } else if (k == "region") {
      o.client.region = v;
    } else if (k == "addressing") {
      addressing = v;
    } else if (k == "part_size") {
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (end == v.c_str() || *end || n < (5ull << 20) || n > (5ull << 30)) {
        return Bad("part_size: bytes, from 5 MiB (5242880) to 5 GiB");
      }
      o.part_size = n;
    } else if (k == "ca_file") {
      o.client.ca_file = v;
    } else if (k == "create_bucket") {
      o.create_bucket = v == "true" || v == "1";
    } else if (k == "max_writers") {
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (end == v.c_str() || *end || n < 1 || n > 100000) return Bad("max_writers: 1 to 100000");
      o.max_writers = n;
    } else if (k == "retries") {
      o.client.retries = std::atoi(v.c_str());
    } else if (k == "stat_cache") {
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (end == v.c_str() || *end || n < 0 || n > 3600) return Bad("stat_cache: 0 to 3600 (seconds)");
      o.stat_cache = n;
    } else {
      return Bad("unknown S3 option '" + k +
                 "' (endpoint, region, addressing, part_size, ca_file, create_bucket, max_writers, "
                 "retries, stat_cache)");
    }
  }
  if (o.client.region.empty()) return Bad("region is empty");
  if (o.client.endpoint.empty()) {
    o.client.endpoint = "https://s3." + o.client.region + ".amazonaws.com";
    if (addressing.empty()) addressing = "virtual";
  }
  if (!o.client.endpoint.starts_with("http://") && !o.client.endpoint.starts_with("https://")) {
    return Bad("endpoint '" + o.client.endpoint + "': http://host[:port] or https://host[:port]");
  }
  if (o.client.endpoint.find('/', o.client.endpoint.find("://") + 3) != std::string::npos &&
      !o.client.endpoint.ends_with("/")) {
    return Bad("endpoint '" + o.client.endpoint + "' has a path; give the host only");
  }
  if (addressing.empty() || addressing == "path") {
    o.client.path_style = true;
  } else if (addressing == "virtual") {
    o.client.path_style = false;
  } else {
    return Bad("addressing: path or virtual");
  }
  o.client.credentials = s3::CredentialsFromEnvironment();
  if (o.client.credentials.access_key.empty() || o.client.credentials.secret_key.empty()) {
    return Bad("S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  return o;
}

}  // namespace arca
