// Request and Response as the layers above http/ see them: no Beast types leak past here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/byte_source.h"

namespace arca::http {

struct Header {
  std::string name;
  std::string value;
};

class Request {
 public:
  std::string method;
  std::string target;  // as sent: path plus query
  std::string path;    // target before '?', not decoded
  std::vector<Header> headers;
  std::string remote;
  std::string request_id;
  ByteSource* body = nullptr;  // streams the request body; never null while handling

  // The first header of that name (case-insensitive), or "" when absent.
  std::string_view HeaderValue(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // Percent-decoded query parameters, in order. Parsed lazily from target.
  std::optional<std::string> Query(std::string_view key) const;
  std::vector<std::string> QueryAll(std::string_view key) const;

 private:
  void ParseQuery() const;
  mutable bool query_parsed_ = false;
  mutable std::vector<std::pair<std::string, std::string>> query_;
};

class Response {
 public:
  int status = 200;
  std::vector<Header> headers;
  std::string body;                    // a small body held in memory
  std::unique_ptr<BodySource> stream;  // or a streamed one (blobs); wins over body
  // For HEAD: the length a GET would send. The server sends no body for HEAD.
  std::optional<uint64_t> head_length;
  // The kind of route the handler served ("manifest", "blob", ...), for metrics; "" when the
  // path matched none.
  std::string route;

  void Set(std::string name, std::string value);  // replaces any header of that name
  void Add(std::string name, std::string value);  // adds another one
};

// Percent-decodes s ('+' stays '+'); nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s);
// Percent-encodes everything but unreserved characters (for Link headers).
std::string PercentEncode(std::string_view s);

}  // namespace arca::http
