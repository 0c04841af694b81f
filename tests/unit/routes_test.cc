#include "api/routes.h"

#include <gtest/gtest.h>

namespace arca::api {
namespace {

TEST(RoutesTest, Resources) {
  struct Case {
    const char* path;
    Route::Kind kind;
    const char* name;
    const char* arg;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"/v2/", Route::kBase, "", ""},
           {"/v2", Route::kBase, "", ""},
           {"/v2/_catalog", Route::kCatalog, "", ""},
           {"/v2/a/b/tags/list", Route::kTags, "a/b", ""},
           {"/v2/a/manifests/latest", Route::kManifest, "a", "latest"},
           {"/v2/a/blobs/sha256:00", Route::kBlob, "a", "sha256:00"},
           {"/v2/a/b/blobs/uploads/", Route::kUploads, "a/b", ""},
           {"/v2/a/blobs/uploads", Route::kUploads, "a", ""},
           {"/v2/a/blobs/uploads/abc", Route::kUpload, "a", "abc"},
           {"/v2/a/referrers/sha256:00", Route::kReferrers, "a", "sha256:00"},
           {"/v2/blobs/manifests/x", Route::kManifest, "blobs", "x"},
           {"/v2/a/manifests/sha256%3Aab", Route::kManifest, "a", "sha256:ab"},
       }) {
    auto r = ParseRoute(c.path);
    ASSERT_TRUE(r.ok()) << c.path << ": " << r.status().detail();
    EXPECT_EQ(r->kind, c.kind) << c.path;
    EXPECT_EQ(r->name, c.name) << c.path;
    EXPECT_EQ(r->arg, c.arg) << c.path;
  }
}

TEST(RoutesTest, BadNamesAndUnknownPaths) {
  for (const char* p : {"/v2/../etc/manifests/x", "/v2/a%2fb/manifests/x", "/v2/A/tags/list",
                        "/v2//a/blobs/sha256:00", "/v2/a/./b/tags/list"}) {
    EXPECT_EQ(ParseRoute(p).status().code(), ErrorCode::kNameInvalid) << p;
  }
  for (const char* p : {"/", "/v1/", "/v2/a", "/v2/a/unknown/x", "/v2/a/manifests/", "/v3/a/tags/list"}) {
    EXPECT_EQ(ParseRoute(p).status().code(), ErrorCode::kNotFound) << p;
  }
}

}  // namespace
}  // namespace arca::api

namespace arca::api {
namespace {

TEST(RoutesTest, ArcaAndTokenRoutes) {
  struct Case {
    const char* path;
    Route::Kind kind;
    const char* name;
    const char* arg;
    const char* arg2;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"/token", Route::kToken, "", "", ""},
           {"/arca/v1/types", Route::kTypes, "", "", ""},
           {"/arca/v1/types/application/vnd.x+json", Route::kType, "", "application/vnd.x+json", ""},
           {"/arca/v1/types/application%2Fvnd.x%2Bjson", Route::kType, "", "application/vnd.x+json", ""},
           {"/arca/v1/types/application/vnd.x/logo.svg", Route::kTypeLogo, "", "application/vnd.x", ""},
           {"/arca/v1/repositories", Route::kTypedRepositories, "", "", ""},
           {"/arca/v1/repositories/a/b/artifacts", Route::kArtifacts, "a/b", "", ""},
           {"/arca/v1/repositories/a/trash", Route::kTrash, "a", "", ""},
           {"/arca/v1/repositories/a/b/trash/sha256:00", Route::kTrashItem, "a/b", "sha256:00", ""},
           {"/arca/v1/repositories/a/trash/sha256:00/restore", Route::kTrashRestore, "a", "sha256:00", ""},
           {"/arca/v1/events", Route::kEvents, "", "", ""},
           {"/arca/v1/admin/gc", Route::kGc, "", "", ""},
           {"/arca/v1/accounts", Route::kAccounts, "", "", ""},
           {"/arca/v1/accounts/alice", Route::kAccount, "", "alice", ""},
           {"/arca/v1/accounts/alice/secret", Route::kAccountSecret, "", "alice", ""},
           {"/arca/v1/accounts/alice/tokens", Route::kAccountTokens, "", "alice", ""},
           {"/arca/v1/accounts/alice/tokens/ab12", Route::kAccountToken, "", "alice", "ab12"},
           {"/arca/v1/groups", Route::kGroups, "", "", ""},
           {"/arca/v1/groups/devs/members/alice", Route::kGroupMember, "", "devs", "alice"},
           {"/arca/v1/grants", Route::kGrants, "", "", ""},
           {"/arca/v1/grants/7", Route::kGrant, "", "7", ""},
           {"/arca/v1/audit", Route::kAudit, "", "", ""},
       }) {
    auto r = ParseRoute(c.path);
    ASSERT_TRUE(r.ok()) << c.path << ": " << r.status().detail();
    EXPECT_EQ(r->kind, c.kind) << c.path;
    EXPECT_EQ(r->name, c.name) << c.path;
    EXPECT_EQ(r->arg, c.arg) << c.path;
    EXPECT_EQ(r->arg2, c.arg2) << c.path;
  }
  for (const char* p : {"/arca/v1/", "/arca/v1/nope", "/arca/v1/accounts/a/b", "/arca/v1/groups/x",
                        "/arca/v1/accounts/a%2Fb", "/arca/v1/repositories/a/other",
                        "/arca/v1/repositories/a/trash/x/y", "/token/x", "/arca/v1/types/"}) {
    EXPECT_EQ(ParseRoute(p).status().code(), ErrorCode::kNotFound) << p;
  }
  EXPECT_EQ(ParseRoute("/arca/v1/repositories/../x/trash").status().code(), ErrorCode::kNameInvalid);
  EXPECT_EQ(ParseRoute("/arca/v1/repositories/A/artifacts").status().code(), ErrorCode::kNameInvalid);
}

// Every route has at least one method, and each method names its permission: a route added
// without a table entry would answer 405 to everything and fail here.
TEST(RoutesTest, EveryRouteHasItsChecks) {
  for (int k = Route::kBase; k <= Route::kToken; ++k) {
    Route r;
    r.kind = static_cast<Route::Kind>(k);
    EXPECT_FALSE(Allow(r).empty()) << "route kind " << k << " has no methods";
  }
  auto need = [](const char* path, const char* method) {
    auto r = ParseRoute(path);
    EXPECT_TRUE(r.ok()) << path;
    return RequiredAction(*r, method);
  };
  EXPECT_EQ(need("/v2/a/manifests/x", "GET"), Action::kPull);
  EXPECT_EQ(need("/v2/a/manifests/x", "HEAD"), Action::kPull);
  EXPECT_EQ(need("/v2/a/manifests/x", "PUT"), Action::kPush);
  EXPECT_EQ(need("/v2/a/manifests/x", "DELETE"), Action::kDelete);
  EXPECT_EQ(need("/v2/a/blobs/uploads/", "POST"), Action::kPush);
  EXPECT_EQ(need("/v2/a/blobs/uploads/u", "PATCH"), Action::kPush);
  EXPECT_EQ(need("/v2/a/blobs/sha256:00", "DELETE"), Action::kDelete);
  EXPECT_EQ(need("/v2/a/referrers/sha256:00", "GET"), Action::kPull);
  EXPECT_EQ(need("/v2/_catalog", "GET"), Action::kLogin);
  EXPECT_EQ(need("/arca/v1/repositories/a/trash/sha256:00/restore", "POST"), Action::kPush);
  EXPECT_EQ(need("/arca/v1/repositories/a/trash/sha256:00", "DELETE"), Action::kDelete);
  EXPECT_EQ(need("/arca/v1/types/application/x", "PUT"), Action::kAdmin);
  EXPECT_EQ(need("/arca/v1/types/application/x", "GET"), Action::kLogin);
  EXPECT_EQ(need("/arca/v1/admin/gc", "POST"), Action::kAdmin);
  EXPECT_EQ(need("/arca/v1/grants", "POST"), Action::kAdmin);
  EXPECT_EQ(need("/token", "POST"), Action::kOpen);
  EXPECT_EQ(need("/v2/a/manifests/x", "POST"), std::nullopt);
  EXPECT_EQ(need("/v2/a/tags/list", "DELETE"), std::nullopt);
  auto r = ParseRoute("/v2/a/manifests/x");
  EXPECT_EQ(Allow(*r), "GET, HEAD, PUT, DELETE");
}

}  // namespace
}  // namespace arca::api
