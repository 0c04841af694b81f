#include "http/message.h"

#include <strings.h>

namespace arca::http {

std::string_view Request::HeaderValue(std::string_view name) const {
  for (const Header& h : headers) {
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return h.value;
    }
  }
  return {};
}

bool Request::HasHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return true;
    }
  }
  return false;
}

void Request::ParseQuery() const {
  query_parsed_ = true;
  size_t q = target.find('?');
  if (q == std::string::npos) return;
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto key = PercentDecode(part.substr(0, eq));
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view()
                                                              : part.substr(eq + 1));
    // A malformed escape makes the value unusable; keep the key with a value that fails
    // validation downstream rather than silently dropping it.
    if (key) query_.emplace_back(*key, value ? *value : std::string("%"));
  }
}

std::optional<std::string> Request::Query(std::string_view key) const {
  if (!query_parsed_) ParseQuery();
  for (const auto& [k, v] : query_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Request::QueryAll(std::string_view key) const {
  if (!query_parsed_) ParseQuery();
  std::vector<std::string> out;
  for (const auto& [k, v] : query_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

void Response::Set(std::string name, std::string value) {
  for (Header& h : headers) {
    if (strcasecmp(h.name.c_str(), name.c_str()) == 0) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
}

void Response::Add(std::string name, std::string value) {
  headers.push_back({std::move(name), std::move(value)});
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace arca::http
