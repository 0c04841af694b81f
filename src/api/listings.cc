// GET /v2/<name>/tags/list, /v2/_catalog and /v2/<name>/referrers/<digest>: keyset-paginated
// with ?n= and ?last=, and a Link header to the next page.
#include <charconv>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/errors.h"
#include "api/json_response.h"
#include "types/json_limits.h"
#include "types/media_types.h"

namespace arca::api {
namespace {

using json = nlohmann::json;

void SetNextLink(http::Response& res, const std::string& path, size_t n, const std::string& last,
                 const std::string& extra = "") {
  res.Set("Link", "<" + path + "?n=" + std::to_string(n) + "&last=" + http::PercentEncode(last) +
                      extra + ">; rel=\"next\"");
}


// {"<key>":<value>,"<list_key>":["a","b",...]} written directly: repository names and tags
// are checked against grammars without quotes, backslashes or control characters, so they
// need no escaping, and a page of 100,000 costs one pass.
class NameListWriter {
 public:
  NameListWriter(const std::string& head, const char* list_key, size_t expected) {
    out_.reserve(head.size() + 32 + std::min<size_t>(expected, 4096) * 16);
    out_ += "{" + head + "\"" + list_key + "\":[";
  }
  void Add(const std::string& name) {
    if (count_++) out_ += ',';
    last_at_ = out_.size() + 1;
    out_ += '"';
    out_ += name;
    out_ += '"';
  }
  size_t count() const { return count_; }
  std::string last() const { return count_ ? out_.substr(last_at_, out_.size() - last_at_ - 1) : ""; }
  void Finish(http::Response& res) {
    out_ += "]}";
    res.Set("Content-Type", "application/json");
    res.body = std::move(out_);
  }

 private:
  std::string out_;
  size_t count_ = 0, last_at_ = 0;
};

void SetNameList(http::Response& res, const std::string& head, const char* list_key,
                 const std::vector<std::string>& names) {
  NameListWriter w(head, list_key, names.size());
  for (const auto& n : names) w.Add(n);
  w.Finish(res);
}

}  // namespace

Result<size_t> Api::PageSize(const http::Request& req, size_t max) const {
  auto n = req.Query("n");
  if (!n) return max;
  size_t value = 0;
  auto [p, ec] = std::from_chars(n->data(), n->data() + n->size(), value);
  if (n->empty() || ec != std::errc() || p != n->data() + n->size()) {
    if (ec == std::errc::result_out_of_range) return max;
    return Status(ErrorCode::kPaginationInvalid, "invalid number of results requested",
                  "n must be a non-negative integer");
  }
  return std::min(value, max);
}

Status Api::Tags(const Route& route, http::Request& req, http::Response& res) {
  auto n = PageSize(req);
  if (!n.ok()) return n.status();
  std::string last = req.Query("last").value_or("");
  NameListWriter w("\"name\":\"" + route.name + "\",", "tags", *n);
  auto more = registry_.VisitTags(route.name, last, *n, [&w](const std::string& t) { w.Add(t); });
  if (!more.ok()) return more.status();
  if (*more && w.count()) SetNextLink(res, "/v2/" + route.name + "/tags/list", *n, w.last());
  w.Finish(res);
  return Status::Ok();
}

Status Api::Catalog(const Caller& caller, http::Request& req, http::Response& res) {
  auto n = PageSize(req);
  if (!n.ok()) return n.status();
  std::string last = req.Query("last").value_or("");
  if (!auth_) {
    auto page = registry_.ListRepositories(last, *n);
    if (!page.ok()) return page.status();
    if (page->more && !page->items.empty()) SetNextLink(res, "/v2/_catalog", *n, page->items.back());
    SetNameList(res, "", "repositories", page->items);
    return Status::Ok();
  }
  // Only what the caller may pull. Pages are read until this one is full or kMaxScan names
  // were passed over; a short page then still has its Link, from the last name passed.
  constexpr size_t kMaxScan = 100000;
  NameListWriter w("", "repositories", *n);
  auto visible = Visibility(caller);
  bool more = true;
  // Past the request's budget, a short page ends the scan as kMaxScan does.
  for (size_t scanned = 0; more && w.count() < *n && scanned < kMaxScan &&
                           !caller.context.Expired();) {
    auto page = registry_.ListRepositories(last, std::min<size_t>(*n - w.count() + 16, 1000));
    if (!page.ok()) return page.status();
    more = page->more;
    size_t used = 0;
    for (const std::string& name : page->items) {
      if (w.count() == *n) {
        more = true;  // names left unread on this page
        break;
      }
      ++used;
      last = name;
      if (visible(name)) w.Add(name);
    }
    scanned += used;
    if (page->items.empty()) break;
  }
  if (more && *n > 0) SetNextLink(res, "/v2/_catalog", *n, last);
  w.Finish(res);
  return Status::Ok();
}

Status Api::Referrers(const Route& route, http::Request& req, http::Response& res) {
  auto subject = Digest::Parse(route.arg);
  if (!subject.ok()) return subject.status();
  auto n = PageSize(req);
  if (!n.ok()) return n.status();
  std::string artifact_type = req.Query("artifactType").value_or("");
  std::string last = req.Query("last").value_or("");
  auto page = registry_.ListReferrers(route.name, *subject, artifact_type, last, *n);
  if (!page.ok()) return page.status();
  json manifests = json::array();
  for (const ManifestRecord& m : page->items) {
    json d = {{"mediaType", m.media_type}, {"digest", m.digest}, {"size", m.size}};
    // distribution-spec: artifactType, else config.mediaType; omitted for an index without one.
    const std::string& type = m.artifact_type.empty() ? m.config_media_type : m.artifact_type;
    if (!type.empty()) d["artifactType"] = type;
    if (!m.annotations_json.empty()) {
      auto ann = ParseJsonBounded(m.annotations_json);
      if (ann.ok() && ann->is_object()) d["annotations"] = std::move(*ann);
    }
    manifests.push_back(std::move(d));
  }
  if (!artifact_type.empty()) res.Set("OCI-Filters-Applied", "artifactType");
  if (page->more && !page->items.empty()) {
    std::string extra = artifact_type.empty() ? "" : "&artifactType=" + http::PercentEncode(artifact_type);
    SetNextLink(res, "/v2/" + route.name + "/referrers/" + subject->str(), *n,
                page->items.back().digest, extra);
  }
  SetJson(res,
          json{{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", manifests}},
          "application/vnd.oci.image.index.v1+json");
  return Status::Ok();
}

}  // namespace arca::api
