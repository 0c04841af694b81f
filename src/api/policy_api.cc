// /arca/v1/policy: the type policy stored in the metadata, which every replica applies within a
// second and which takes precedence over the policy file (docs/arca-api.md#policy).
//   GET     {"source": "stored", "policy": "<YAML>"} or {"source": "file"}
//   PUT     a YAML policy document (checked as the file is): stored, 200
//   DELETE  the stored policy is dropped and the file is in force again: 202
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/read_body.h"
#include "registry/policy.h"

namespace arca::api {

namespace {
constexpr size_t kMaxPolicyBody = 1 << 20;
}

Status Api::PolicyDocument(http::Request& req, http::Response& res) {
  if (!policy_) return Status(ErrorCode::kNotFound, "the type policy is not enabled");
  if (req.method == "GET" || req.method == "HEAD") {
    auto stored = policy_->Stored();
    if (!stored.ok()) return stored.status();
    nlohmann::json doc = {{"source", *stored ? "stored" : "file"}};
    if (*stored) doc["policy"] = **stored;
    res.Set("Content-Type", "application/json");
    res.body = doc.dump();
    return Status::Ok();
  }
  if (req.method == "DELETE") {
    ARCA_RETURN_IF_ERROR(policy_->SetStored(std::nullopt));
    res.status = 202;
    return Status::Ok();
  }
  auto body = ReadBounded(*req.body, kMaxPolicyBody, "policy");
  if (!body.ok()) return body.status();
  ARCA_RETURN_IF_ERROR(policy_->SetStored(*body));
  res.status = 200;
  return Status::Ok();
}

}  // namespace arca::api
