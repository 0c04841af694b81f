// SqliteMetaStore's own resources: the bounded pool of read connections, and what happens
// when its database file is unlinked or replaced under it.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "meta/sqlite/sqlite_meta_store.h"
#include "meta_fixtures.h"
#include "temp_dir.h"

namespace arca {
namespace {

// Descriptors of this process open on exactly `path`.
size_t OpenFds(const std::string& path) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target == path) ++n;
  }
  return n;
}

class SqliteReaderPool : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteMetaStore> Open(size_t max_readers, int wait_ms = 10000) {
    SqliteMetaStore::Options o;
    o.max_readers = max_readers;
    o.reader_wait_ms = wait_ms;
    auto s = SqliteMetaStore::Open(path_, o);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? std::move(*s) : nullptr;
  }
  testing::TempDir dir_;
  std::string path_ = std::filesystem::canonical(dir_.path()).string() + "/meta.db";
};

TEST_F(SqliteReaderPool, DefaultIsTwiceTheCoresWithinFourToThirtyTwo) {
  size_t n = SqliteMetaStore::DefaultMaxReaders();
  EXPECT_GE(n, 4u);
  EXPECT_LE(n, 32u);
}

// More readers at once than the pool holds: every one is served, no more connections than
// the bound are ever open, and no descriptor outlives a burst (closing connections while
// others hold locks on the file used to leave one open per connection closed).
TEST_F(SqliteReaderPool, ManyThreadsShareABoundedPool) {
  constexpr size_t kBound = 3;
  auto meta = Open(kBound);
  ASSERT_TRUE(meta);
  ASSERT_TRUE(meta->LinkBlob("repo", D('1'), 10).ok());
  size_t fds_before = OpenFds(path_);
  for (int round = 0; round < 3; ++round) {
    std::atomic<int> failures{0}, ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 64; ++t) {
      threads.emplace_back([&] {
        ++ready;
        while (ready.load() < 64) std::this_thread::yield();  // start together
        for (int i = 0; i < 20; ++i) {
          auto got = meta->BlobInRepository("repo", D('1'));
          if (!got.ok() || !got->has_value() || **got != 10u) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_LE(meta->peak_readers(), kBound);
    EXPECT_LE(OpenFds(path_), fds_before + kBound) << "round " << round;
  }
  EXPECT_GE(meta->peak_readers(), 1u);
}

// A reader that cannot get a connection in time gets UNAVAILABLE, not a hang.
TEST_F(SqliteReaderPool, WaitForAFreeReaderIsBounded) {
  auto meta = Open(1, 100);
  ASSERT_TRUE(meta);
  ASSERT_TRUE(meta->LinkBlob("repo", D('1'), 10).ok());
  Status while_held;
  {
    auto held = meta->AcquireReader();  // the only connection
    ASSERT_TRUE(held.ok());
    while_held = std::async(std::launch::async, [&] {
                   return meta->RepositoryExists("repo").status();
                 }).get();
  }
  EXPECT_EQ(while_held.code(), ErrorCode::kUnavailable);
  auto after = meta->RepositoryExists("repo");
  ASSERT_TRUE(after.ok()) << after.status().detail();
  EXPECT_TRUE(*after);
}

TEST_F(SqliteReaderPool, UnlinkedDatabaseRefusesWrites) {
  auto meta = Open(2);
  ASSERT_TRUE(meta);
  ASSERT_TRUE(meta->LinkBlob("repo", D('1'), 10).ok());
  ASSERT_TRUE(meta->BlobInRepository("repo", D('1'))->has_value());  // a reader is open
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  Status s = meta->LinkBlob("repo", D('2'), 20);
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.detail();
  EXPECT_TRUE(meta->database_lost());
  EXPECT_EQ(meta->CreateUpload({"u", "repo", 0, "", 1, 1, "", ""}).code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(std::filesystem::exists(path_)) << "nothing may create a new, empty database";
  auto read = meta->BlobInRepository("repo", D('1'));  // reads go on from the open file
  ASSERT_TRUE(read.ok()) << read.status().detail();
  EXPECT_TRUE(read->has_value());
}

TEST_F(SqliteReaderPool, ReplacedDatabaseRefusesWrites) {
  auto meta = Open(2);
  ASSERT_TRUE(meta);
  ASSERT_TRUE(meta->LinkBlob("repo", D('1'), 10).ok());
  std::filesystem::copy_file(path_, path_ + ".other");
  ASSERT_EQ(::rename((path_ + ".other").c_str(), path_.c_str()), 0);
  EXPECT_EQ(meta->LinkBlob("repo", D('2'), 20).code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(meta->database_lost());
}

TEST_F(SqliteReaderPool, MissingDatabaseIsNotCreatedWhenAskedNotTo) {
  SqliteMetaStore::Options o;
  o.create = false;
  auto s = SqliteMetaStore::Open(path_, o);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

}  // namespace
}  // namespace arca
