#include "registry/type_catalog.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "temp_dir.h"

namespace arca {
namespace {

const char kBuiltinDef[] = R"({"mediaType":"application/x.builtin","title":"Built in","logo":"b.svg"})";

const char kBuiltinLogo[] = "<svg xmlns='http://www.w3.org/2000/svg' id='b'/>";

class TypeCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = std::make_unique<TypeCatalog>(
        std::vector<EmbeddedFile>{{"b.json", kBuiltinDef}, {"b.svg", kBuiltinLogo}}, dir_.path() + "/types");
    ASSERT_TRUE(catalog_->Load().ok());
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.path() + "/types/" + name) << text;
  }
  testing::TempDir dir_;
  std::unique_ptr<TypeCatalog> catalog_;
};

TEST_F(TypeCatalogTest, BuiltinsLoadWithTheirLogos) {
  auto t = catalog_->Find("application/x.builtin");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->source, "builtin");
  EXPECT_EQ(t->logo_svg, kBuiltinLogo);
  EXPECT_FALSE(catalog_->Find("application/x.other"));
}

TEST_F(TypeCatalogTest, RealBuiltinsAllLoad) {
  TypeCatalog real(BuiltinTypeFiles(), dir_.path() + "/real");
  ASSERT_TRUE(real.Load().ok());
  EXPECT_GE(real.List().size(), 14u);
  for (const char* id : {"application/vnd.cncf.helm.config.v1+json", "application/vnd.oci.image.config.v1+json",
                         "application/vnd.oci.image.index.v1+json", "application/vnd.cncf.notary.signature"}) {
    auto t = real.Find(id);
    ASSERT_TRUE(t) << id;
    EXPECT_FALSE(t->logo_svg.empty()) << id;
  }
}

TEST_F(TypeCatalogTest, DroppedFilesAreWatchedAndBadOnesKeepTheLastGoodVersion) {
  catalog_->Watch(50);
  Write("x.json", R"({"mediaType":"application/x.dropped","title":"First"})");
  auto wait_for = [&](auto pred) {
    for (int i = 0; i < 100 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return pred();
  };
  ASSERT_TRUE(wait_for([&] { return catalog_->Find("application/x.dropped") != nullptr; }));
  EXPECT_EQ(catalog_->Find("application/x.dropped")->source, "file");
  Write("x.json", R"({"mediaType":"application/x.dropped","title":"Second", "bogus": 1})");
  ASSERT_TRUE(wait_for([&] { return !catalog_->Problems().empty(); }));
  EXPECT_EQ(catalog_->Find("application/x.dropped")->title, "First");
  EXPECT_NE(catalog_->Problems()[0].find("x.json: bogus"), std::string::npos);
  std::filesystem::remove(dir_.path() + "/types/x.json");
  ASSERT_TRUE(wait_for([&] { return catalog_->Find("application/x.dropped") == nullptr; }));
}

TEST_F(TypeCatalogTest, PutOverrideDeleteRestore) {
  auto created = catalog_->Put("application/x.new", R"({"mediaType":"application/x.new","title":"New"})");
  ASSERT_TRUE(created.ok()) << created.status().detail();
  EXPECT_TRUE(*created);
  EXPECT_EQ(catalog_->Find("application/x.new")->source, "api");
  EXPECT_FALSE(*catalog_->Put("application/x.new", R"({"mediaType":"application/x.new","title":"Newer"})"));
  EXPECT_EQ(catalog_->Find("application/x.new")->title, "Newer");
  // The id must be the definition's own, and a bad definition changes nothing.
  EXPECT_FALSE(catalog_->Put("application/x.new", R"({"mediaType":"application/x.else","title":"E"})").ok());
  EXPECT_FALSE(catalog_->Put("application/x.new", R"({"mediaType":"application/x.new"})").ok());
  EXPECT_EQ(catalog_->Find("application/x.new")->title, "Newer");
  // Override a built-in, then delete the override: the built-in is back.
  ASSERT_TRUE(catalog_->Put("application/x.builtin", R"({"mediaType":"application/x.builtin","title":"Mine"})").ok());
  EXPECT_EQ(catalog_->Find("application/x.builtin")->title, "Mine");
  ASSERT_TRUE(catalog_->Delete("application/x.builtin").ok());
  EXPECT_EQ(catalog_->Find("application/x.builtin")->title, "Built in");
  EXPECT_EQ(catalog_->Delete("application/x.builtin").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(catalog_->Delete("application/x.none").code(), ErrorCode::kNameUnknown);
  ASSERT_TRUE(catalog_->Delete("application/x.new").ok());
  EXPECT_FALSE(catalog_->Find("application/x.new"));
  // Survives a restart: definitions are files.
  ASSERT_TRUE(catalog_->Put("application/x.kept", R"({"mediaType":"application/x.kept","title":"K"})").ok());
  TypeCatalog again({}, dir_.path() + "/types");
  ASSERT_TRUE(again.Load().ok());
  EXPECT_TRUE(again.Find("application/x.kept"));
}

}  // namespace
}  // namespace arca
