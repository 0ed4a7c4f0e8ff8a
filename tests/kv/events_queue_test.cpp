#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "kv/events/bounded_queue.h"

namespace kvtier::kv {
namespace {

using std::chrono::milliseconds;

TEST(BoundedQueue, DropsAndCountsWhenFull) {
  BoundedQueue<int> queue(2);
  EXPECT_TRUE(queue.try_push(1));
  EXPECT_TRUE(queue.try_push(2));
  EXPECT_FALSE(queue.try_push(3));
  EXPECT_EQ(queue.dropped(), 1u);
  EXPECT_EQ(queue.pop_for(milliseconds(0)), 1);
  EXPECT_TRUE(queue.try_push(4));
  EXPECT_EQ(queue.pop_for(milliseconds(0)), 2);
  EXPECT_EQ(queue.pop_for(milliseconds(0)), 4);
  EXPECT_EQ(queue.pop_for(milliseconds(1)), std::nullopt);
}

TEST(BoundedQueue, CloseKeepsQueuedItemsAndRefusesNewOnes) {
  BoundedQueue<int> queue(4);
  queue.try_push(1);
  queue.close();
  EXPECT_FALSE(queue.try_push(2));
  EXPECT_FALSE(queue.closed_and_empty());
  EXPECT_EQ(queue.pop_for(milliseconds(0)), 1);
  EXPECT_TRUE(queue.closed_and_empty());
  EXPECT_EQ(queue.pop_for(milliseconds(1000)), std::nullopt);  // closed: returns at once
}

TEST(BoundedQueue, HandsItemsToAWaitingConsumerInOrder) {
  BoundedQueue<int> queue(1000);
  std::vector<int> got;
  std::thread consumer([&] {
    while (!queue.closed_and_empty()) {
      if (auto item = queue.pop_for(milliseconds(50))) got.push_back(*item);
    }
  });
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(queue.try_push(i));
  queue.close();
  consumer.join();
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(got[i], i);
}

}  // namespace
}  // namespace kvtier::kv
