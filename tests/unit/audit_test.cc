// The audit stream: the store's listing (on every metadata backend, meta_backend.h), filters and pruning, and the recorder's queue.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "auth/audit.h"
#include "meta_backend.h"
#include "temp_dir.h"

namespace arca {
namespace {

class AuditTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = testing::NewMetaBackend(GetParam(), dir_.path());
    auto s = backend_->OpenAudit();
    ASSERT_TRUE(s.ok()) << s.status().detail();
    store_ = std::move(*s);
  }
  static auth::AuditEntry Entry(int64_t time, std::string who, std::string repo) {
    auth::AuditEntry e;
    e.time = time;
    e.principal = std::move(who);
    e.action = "manifest.put";
    e.repository = std::move(repo);
    e.status = 201;
    return e;
  }
  testing::TempDir dir_;
  std::unique_ptr<testing::MetaBackend> backend_;
  std::unique_ptr<auth::AuditStore> store_;
};

TEST_P(AuditTest, ListsNewestFirstWithFiltersAndPages) {
  std::vector<auth::AuditEntry> batch;
  for (int i = 0; i < 30; ++i) {
    batch.push_back(Entry(1000 + i, i % 3 ? "user:a" : "user:b", i % 2 ? "r/odd" : "r/even"));
  }
  ASSERT_TRUE(store_->Append(batch).ok());
  auth::AuditQuery q;
  q.limit = 10;
  auto page = store_->List(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->first.size(), 10u);
  EXPECT_TRUE(page->second);
  EXPECT_EQ(page->first.front().time, 1029);
  q.before_id = page->first.back().id;
  auto next = store_->List(q);
  EXPECT_EQ(next->first.front().time, 1019);
  q = {};
  q.limit = 100;
  q.principal = "user:b";
  q.repository = "r/even";
  auto filtered = store_->List(q);
  ASSERT_TRUE(filtered.ok());
  EXPECT_EQ(filtered->first.size(), 5u);  // i = 0, 6, 12, 18, 24
  for (const auto& e : filtered->first) EXPECT_EQ(e.principal, "user:b");
  q.principal.clear();
  EXPECT_EQ(store_->List(q)->first.size(), 15u);
  EXPECT_FALSE(store_->List(q)->second);
}

// Audited text comes from requests: a user name of a failed login may hold any bytes. The
// stream keeps each entry, bad bytes replaced by U+FFFD, and never the batch's other entries
// lost with it (PostgreSQL refuses NUL and invalid UTF-8).
TEST_P(AuditTest, HostileTextIsKeptReadableAndCostsNoOtherEntry) {
  const std::string kBad[] = {std::string("user:\xff\xfe"), std::string("user:a\0b", 8),
                              std::string("user:\xed\xa0\x80"),  // a UTF-16 surrogate
                              std::string("user:\xe2\x82"),       // cut mid-character
                              std::string("user:\xc3\xa9t\xc3\xa9")};  // valid: kept
  std::vector<auth::AuditEntry> batch = {Entry(1, "user:before", "r")};
  for (const std::string& who : kBad) batch.push_back(Entry(2, who, "r"));
  batch.push_back(Entry(3, "user:after", "r"));
  ASSERT_TRUE(store_->Append(batch).ok());
  auth::AuditQuery q;
  auto listed = store_->List(q);
  ASSERT_TRUE(listed.ok()) << listed.status().detail();
  std::vector<std::string> got;
  for (const auto& e : listed->first) got.insert(got.begin(), e.principal);  // oldest first
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(got, (std::vector<std::string>{"user:before", "user:" + r + r, "user:a" + r + "b",
                                           "user:" + r + r + r, "user:" + r + r,
                                           "user:\xc3\xa9t\xc3\xa9", "user:after"}));
}

TEST_P(AuditTest, PrunesByAgeAndByCount) {
  std::vector<auth::AuditEntry> batch;
  for (int i = 0; i < 50000; ++i) batch.push_back(Entry(i, "user:a", "r"));
  ASSERT_TRUE(store_->Append(batch).ok());
  auto removed = store_->Prune(25000, 1'000'000);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 25000);
  removed = store_->Prune(0, 1000);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 24000);
  auth::AuditQuery q;
  q.limit = 5000;
  auto left = store_->List(q);
  ASSERT_EQ(left->first.size(), 1000u);
  EXPECT_EQ(left->first.front().time, 49999);  // the newest stay
  EXPECT_EQ(left->first.back().time, 49000);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTest, ::testing::ValuesIn(testing::MetaBackends()),
                         [](const auto& info) { return info.param; });

// A store that blocks until released, to fill the recorder's queue.
class SlowStore : public auth::AuditStore {
 public:
  Status Append(const std::vector<auth::AuditEntry>& e) override {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
    written += e.size();
    return Status::Ok();
  }
  Result<std::pair<std::vector<auth::AuditEntry>, bool>> List(const auth::AuditQuery&) override {
    return std::make_pair(std::vector<auth::AuditEntry>{}, false);
  }
  Result<int64_t> Prune(int64_t, int64_t) override { return int64_t{0}; }
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  size_t written = 0;
};

TEST(AuditRecorderTest, BoundedQueueDropsAndCountsNeverBlocks) {
  SlowStore store;
  auth::AuditRecorder rec(store, auth::AuditOptions{.max_queue = 100, .flush_ms = 10},
                          [] { return int64_t{1}; });
  for (int i = 0; i < 1000; ++i) rec.Record(auth::AuditEntry{});  // returns though the store blocks
  EXPECT_GE(rec.dropped(), 1000 - 100 - 5000);
  EXPECT_GT(rec.dropped(), 0);
  {
    std::lock_guard lock(store.mu);
    store.open = true;
  }
  store.cv.notify_all();
  rec.Flush();
  std::lock_guard lock(store.mu);
  EXPECT_EQ(store.written + static_cast<size_t>(rec.dropped()), 1000u);
}

}  // namespace
}  // namespace arca
