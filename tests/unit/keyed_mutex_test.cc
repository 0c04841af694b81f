#include "util/keyed_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace arca {
namespace {

TEST(KeyedMutexTest, SameKeySerializesOtherKeysDoNot) {
  KeyedMutex km;
  std::atomic<int> inside{0}, max_inside{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      KeyedMutex::Lock lock(km, "same");
      int now = ++inside;
      max_inside = std::max(max_inside.load(), now);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      --inside;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(max_inside.load(), 1);
  EXPECT_EQ(km.size(), 0u);  // entries are dropped when unused

  KeyedMutex::Lock a(km, "a");
  std::atomic<bool> got_b{false};
  std::thread other([&] {
    KeyedMutex::Lock b(km, "b");  // must not wait for "a"
    got_b = true;
  });
  other.join();
  EXPECT_TRUE(got_b);
  EXPECT_EQ(km.size(), 1u);
}

}  // namespace
}  // namespace arca
