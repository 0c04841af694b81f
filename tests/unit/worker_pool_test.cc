#include "http/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace arca::http {
namespace {

TEST(WorkerPoolTest, RunsEveryTaskAndJoinsOnStop) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(2, 8);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(pool.Submit(MakeTask([&] { ran++; })), nullptr);
    pool.Stop();
    EXPECT_EQ(pool.threads(), 0u);
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(WorkerPoolTest, BlockedTasksDoNotStarveNewOnes) {
  // Tasks that wait on something (a slow client) each get a thread of their own, so a task
  // submitted after them still runs.
  WorkerPool pool(1, 64);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> blocked{0};
  for (int i = 0; i < 20; ++i) {
    pool.Submit(MakeTask([&] {
      blocked++;
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return release; });
    }));
  }
  std::atomic<bool> quick{false};
  pool.Submit(MakeTask([&] { quick = true; }));
  for (int i = 0; i < 5000 && !quick.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(quick.load());
  EXPECT_GE(pool.threads(), 21u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.Stop();
  EXPECT_EQ(blocked.load(), 20);
}

TEST(WorkerPoolTest, NeverMoreThreadsThanTheMaximum) {
  WorkerPool pool(1, 4);
  std::atomic<int> running{0}, peak{0};
  for (int i = 0; i < 50; ++i) {
    pool.Submit(MakeTask([&] {
      int now = ++running;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      --running;
    }));
    EXPECT_LE(pool.threads(), 4u);
  }
  pool.Stop();
  EXPECT_LE(peak.load(), 4);
}

TEST(WorkerPoolTest, IdleThreadsBeyondTheWarmOnesEnd) {
  WorkerPool pool(1, 16, std::chrono::milliseconds(20));
  std::atomic<int> gate{0};
  for (int i = 0; i < 8; ++i) {
    pool.Submit(MakeTask([&] {
      gate++;
      while (gate.load() < 8) std::this_thread::yield();
    }));
  }
  for (int i = 0; i < 5000 && pool.threads() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(pool.threads(), 1u);
  pool.Stop();
}

TEST(WorkerPoolTest, RescueAddsAThreadWhenTasksWaitBehindBlockedOnes) {
  // Two threads by Submit; a third only when Rescue finds the queue stuck.
  WorkerPool pool(2, 3, std::chrono::seconds(30), 2);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  for (int i = 0; i < 2; ++i) {
    pool.Submit(MakeTask([&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return release; });
    }));
  }
  std::atomic<bool> ran{false};
  pool.Submit(MakeTask([&] { ran = true; }));
  EXPECT_EQ(pool.threads(), 2u);
  EXPECT_FALSE(pool.Rescue(std::chrono::hours(1)));  // not waited long enough
  for (int i = 0; i < 5000 && !pool.Rescue(std::chrono::milliseconds(1)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (int i = 0; i < 5000 && !ran.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(pool.threads(), 3u);
  EXPECT_FALSE(pool.Rescue(std::chrono::milliseconds(0)));  // at the maximum, queue empty
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.Stop();
}

TEST(WorkerPoolTest, SubmitAfterStopHandsTheTaskBack) {
  WorkerPool pool(1, 2);
  pool.Stop();
  bool ran = false;
  auto back = pool.Submit(MakeTask([&] { ran = true; }));
  ASSERT_NE(back, nullptr);  // handed back to be run by the caller
  back->Run();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace arca::http
