#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kvtier::kernels {
namespace {

TEST(ThreadPool, EveryItemRunsExactlyOnce) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3);
  for (int64_t n : {0, 1, 2, 5, 17, 1000, 4097}) {
    for (int64_t grain : {1, 3, 64}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(
          n,
          [&](int64_t b, int64_t e, int t) {
            ASSERT_GE(t, 0);
            ASSERT_LT(t, pool.size());
            for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
          },
          grain);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[size_t(i)].load(), 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPool, UsesSeveralThreadsForManyItems) {
  ThreadPool pool(2);
  std::atomic<int> mask{0};
  // Whoever runs the first chunk waits until the other thread has run one: the job can only
  // finish if both threads take part (bounded wait, so a broken pool fails instead of hanging).
  pool.parallel_for(64, [&](int64_t b, int64_t, int t) {
    mask |= 1 << t;
    if (b != 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (mask.load() != 3 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
  });
  EXPECT_EQ(mask.load(), 3);
}

TEST(ThreadPool, RepeatedJobsAndSingleThread) {
  ThreadPool one(1);
  int64_t sum = 0;
  one.parallel_for(100, [&](int64_t b, int64_t e, int t) {
    EXPECT_EQ(t, 0);
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum, 4950);
  ThreadPool pool(4);
  for (int rep = 0; rep < 200; ++rep) {
    std::atomic<int64_t> total{0};
    pool.parallel_for(rep, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) total += i;
    });
    ASSERT_EQ(total.load(), int64_t(rep) * (rep - 1) / 2);
  }
}

}  // namespace
}  // namespace kvtier::kernels
