#include "storage/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "util/sha.h"
#include "util/utc_time.h"

namespace arca::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string Trim(std::string_view v) {
  size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  return b == std::string_view::npos ? std::string() : std::string(v.substr(b, e - b + 1));
}

std::string Scope(const std::string& amz_date, const std::string& region) {
  return amz_date.substr(0, 8) + "/" + region + "/s3/aws4_request";
}

// Canonical headers and the signed-header list of host plus the given headers.
std::pair<std::string, std::string> CanonicalHeaders(const SignedRequest& r, const Pairs& extra) {
  Pairs all;
  all.emplace_back("host", r.host);
  for (const auto& h : r.headers) all.emplace_back(h.first, Trim(h.second));
  for (const auto& h : extra) all.emplace_back(h.first, Trim(h.second));
  std::sort(all.begin(), all.end());
  std::string canon, names;
  for (const auto& [k, v] : all) {
    canon += k + ":" + v + "\n";
    if (!names.empty()) names += ';';
    names += k;
  }
  return {canon, names};
}

std::string Signature(const Credentials& c, const std::string& region, const std::string& amz_date,
                      const std::string& canonical_request) {
  std::string to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + Scope(amz_date, region) +
                        "\n" + HexDigestOf(DigestAlgorithm::kSha256, canonical_request);
  std::string k = Hmac("AWS4" + c.secret_key, amz_date.substr(0, 8));
  k = Hmac(k, region);
  k = Hmac(k, "s3");
  k = Hmac(k, "aws4_request");
  return Hex(Hmac(k, to_sign));
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char ch : s) {
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(const Pairs& query) {
  Pairs enc;
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string AmzDate(int64_t unix_seconds) { return FormatUtc(unix_seconds, "%Y%m%dT%H%M%SZ"); }

Pairs SignHeaders(const SignedRequest& r, const Credentials& c, const std::string& region,
                  const std::string& amz_date) {
  Pairs add{{"x-amz-content-sha256", r.payload_hash}, {"x-amz-date", amz_date}};
  if (!c.session_token.empty()) add.emplace_back("x-amz-security-token", c.session_token);
  auto [canon, names] = CanonicalHeaders(r, add);
  std::string request = r.method + "\n" + r.path + "\n" + CanonicalQuery(r.query) + "\n" + canon +
                        "\n" + names + "\n" + r.payload_hash;
  add.emplace_back("authorization", std::string(kAlgorithm) + " Credential=" + c.access_key + "/" +
                                        Scope(amz_date, region) + ",SignedHeaders=" + names +
                                        ",Signature=" + Signature(c, region, amz_date, request));
  return add;
}

std::string PresignQuery(const SignedRequest& r, const Credentials& c, const std::string& region,
                         const std::string& amz_date, int64_t expires) {
  Pairs q = r.query;
  auto [canon, names] = CanonicalHeaders(r, {});
  q.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  q.emplace_back("X-Amz-Credential", c.access_key + "/" + Scope(amz_date, region));
  q.emplace_back("X-Amz-Date", amz_date);
  q.emplace_back("X-Amz-Expires", std::to_string(expires));
  if (!c.session_token.empty()) q.emplace_back("X-Amz-Security-Token", c.session_token);
  q.emplace_back("X-Amz-SignedHeaders", names);
  std::string request = r.method + "\n" + r.path + "\n" + CanonicalQuery(q) + "\n" + canon + "\n" +
                        names + "\nUNSIGNED-PAYLOAD";
  std::string sig = Signature(c, region, amz_date, request);
  return CanonicalQuery(q) + "&X-Amz-Signature=" + sig;
}

}  // namespace arca::s3
