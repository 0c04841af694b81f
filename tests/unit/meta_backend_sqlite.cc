// The MetaStore contract on SQLite.
#include <gtest/gtest.h>

#include "meta/sqlite/sqlite_meta_store.h"
#include "meta_backend.h"

namespace arca::testing {
namespace {

class SqliteBackend : public MetaBackend {
 public:
  explicit SqliteBackend(std::string path) : path_(std::move(path)) {}
  Result<std::unique_ptr<MetaStore>> Open() override {
    auto s = SqliteMetaStore::Open(path_);
    if (!s.ok()) return s.status();
    return std::unique_ptr<MetaStore>(std::move(*s));
  }

 private:
  std::string path_;
};

}  // namespace

std::vector<std::string> MetaBackends() { return {"sqlite"}; }

std::unique_ptr<MetaBackend> NewMetaBackend(const std::string& name, const std::string& scratch) {
  EXPECT_EQ(name, "sqlite");
  return std::make_unique<SqliteBackend>(scratch + "/meta.db");
}

}  // namespace arca::testing
