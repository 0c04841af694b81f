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
