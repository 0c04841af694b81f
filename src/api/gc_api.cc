// The Arca API's garbage collection and recycle bin (docs/gc.md):
//   POST /arca/v1/admin/gc[?dry_run=true], GET /arca/v1/admin/gc
//   GET /arca/v1/repositories/<name>/trash, POST .../trash/<digest>/restore,
//   DELETE .../trash/<digest>
#include "api/api.h"
#include "api/errors.h"
#include "api/json_response.h"
#include "gc/collector.h"

namespace arca::api {

using json = nlohmann::json;

Status Api::Gc(const Caller& caller, http::Request& req, http::Response& res) {
  if (!collector_) return Status(ErrorCode::kNotFound, "garbage collection is not available", "");
  if (req.method == "GET" || req.method == "HEAD") {
    auto last = collector_->Last();
    if (!last) return Status(ErrorCode::kNotFound, "no garbage collection has run yet", "");
    res.Set("Content-Type", "application/json");
    res.body = GcReportJson(*last);
    return Status::Ok();
  }
  std::string dry = req.Query("dry_run").value_or(req.Query("dryRun").value_or("false"));
  if (dry != "true" && dry != "false" && dry != "1" && dry != "0") {
    return Status(ErrorCode::kQueryInvalid, "invalid dry_run", "dry_run is true or false");
  }
  GcReport report = collector_->Run(dry == "true" || dry == "1", caller.context);
  // A pass skipped because another replica is collecting did nothing wrong: 200, with
  // "skipped": true and the reason in "error".
  if (!report.error.empty() && !report.skipped) {
    // 503 (with Retry-After) when a store was out of reach, 500 otherwise.
    return Status(report.error_code, "garbage collection stopped", report.error);
  }
  res.Set("Content-Type", "application/json");
  res.body = GcReportJson(report);
  return Status::Ok();
}

Status Api::Trash(const Route& route, const Caller& caller, http::Request& req,
                  http::Response& res) {
  const std::string& repo = route.name;
  if (route.kind == Route::kTrash) {
    auto n = PageSize(req, 1000);
    if (!n.ok()) return n.status();
    auto page = registry_.ListTrash(repo, req.Query("last").value_or(""), *n);
    if (!page.ok()) return page.status();
    json items = json::array();
    for (const TrashEntry& e : page->items) {
      items.push_back({{"digest", e.digest}, {"mediaType", e.media_type}, {"type", e.type},
                       {"size", e.size}, {"reason", e.reason}, {"tags", e.tags},
                       {"trashedAt", Rfc3339(e.trashed_at)}, {"expiresAt", Rfc3339(e.expires_at)}});
    }
    if (page->more && !page->items.empty()) {
      res.Set("Link", "</arca/v1/repositories/" + repo + "/trash?n=" + std::to_string(*n) +
                          "&last=" + http::PercentEncode(page->items.back().digest) + ">; rel=\"next\"");
    }
    SetJson(res, {{"repository", repo}, {"trash", items}});
    return Status::Ok();
  }
  auto digest = Digest::Parse(route.arg);
  if (!digest.ok()) return digest.status();
  if (route.kind == Route::kTrashRestore) {
    auto done = registry_.RestoreManifest(caller.context, repo, *digest);
    if (!done.ok()) return done.status();
    SetJson(res, {{"digest", digest->str()}, {"restored", done->restored}, {"skipped", done->skipped}});
    return Status::Ok();
  }
  ARCA_RETURN_IF_ERROR(registry_.ExpireTrash(caller.context, repo, *digest));
  res.status = 202;
  return Status::Ok();
}

}  // namespace arca::api
