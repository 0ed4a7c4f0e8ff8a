#include <gtest/gtest.h>

#include <map>
#include <numeric>

#include "kv/block_hash.h"
#include "router/metric_scorers.h"
#include "router/pickers.h"
#include "router/prefix_cache_scorer.h"
#include "router/scheduler.h"

namespace kvtier::router {
namespace {

EndpointView endpoint(size_t index, double waiting, double kv_usage = 0, double running = 0) {
  EndpointView v;
  v.index = index;
  v.id = "10.0.0." + std::to_string(index + 1) + ":8000";
  v.metrics.waiting = waiting;
  v.metrics.running = running;
  v.metrics.kv_usage = kv_usage;
  return v;
}

std::vector<int32_t> tokens(int n, int start = 0) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), start);
  return t;
}

TEST(QueueScorerTest, ScalesBetweenShortestAndLongestQueue) {
  QueueScorer scorer;
  std::vector<EndpointView> eps = {endpoint(0, 0), endpoint(1, 5), endpoint(2, 10), endpoint(3, 2)};
  auto s = scorer.score({}, eps);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s[0], 1.0);            // (10 - 0) / 10
  EXPECT_DOUBLE_EQ(s[1], 0.5);            // (10 - 5) / 10
  EXPECT_DOUBLE_EQ(s[2], 0.0);
  EXPECT_DOUBLE_EQ(s[3], 0.8);            // (10 - 2) / 10
  // Min is not zero: (maxQ - q) / (maxQ - minQ).
  eps = {endpoint(0, 4), endpoint(1, 6), endpoint(2, 12)};
  s = scorer.score({}, eps);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 0.75);           // (12 - 6) / 8
  EXPECT_DOUBLE_EQ(s[2], 0.0);
}

TEST(QueueScorerTest, EqualQueuesAllScoreOne) {
  QueueScorer scorer;
  std::vector<EndpointView> eps = {endpoint(0, 3), endpoint(1, 3), endpoint(2, 3)};
  for (double v : scorer.score({}, eps)) EXPECT_DOUBLE_EQ(v, 1.0);
  std::vector<EndpointView> one = {endpoint(0, 7)};
  EXPECT_DOUBLE_EQ(scorer.score({}, one)[0], 1.0);
}

TEST(KvCacheUtilizationScorerTest, OneMinusUsageClamped) {
  KvCacheUtilizationScorer scorer;
  std::vector<EndpointView> eps = {endpoint(0, 0, 0.0), endpoint(1, 0, 0.25), endpoint(2, 0, 0.9),
                                   endpoint(3, 0, 1.4), endpoint(4, 0, -0.2)};
  auto s = scorer.score({}, eps);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 0.75);
  EXPECT_NEAR(s[2], 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(s[3], 0.0);
  EXPECT_DOUBLE_EQ(s[4], 1.0);
}

TEST(LoadAwareScorerTest, HalfForEmptyQueueThenLinearToZeroAtThreshold) {
  LoadAwareScorer scorer;  // threshold 128
  std::vector<EndpointView> eps = {endpoint(0, 0), endpoint(1, 1), endpoint(2, 64),
                                   endpoint(3, 128), endpoint(4, 500)};
  auto s = scorer.score({}, eps);
  EXPECT_DOUBLE_EQ(s[0], 0.5);
  EXPECT_DOUBLE_EQ(s[1], 0.5 * (1.0 - 1.0 / 128.0));
  EXPECT_DOUBLE_EQ(s[2], 0.25);
  EXPECT_DOUBLE_EQ(s[3], 0.0);
  EXPECT_DOUBLE_EQ(s[4], 0.0);
  LoadAwareScorer small(10);
  std::vector<EndpointView> two = {endpoint(0, 5), endpoint(1, 3)};
  auto t = small.score({}, two);
  EXPECT_DOUBLE_EQ(t[0], 0.25);
  EXPECT_DOUBLE_EQ(t[1], 0.35);
}

TEST(PrefixCacheScorerTest, MatchedLeadingBlocksOverTotal) {
  PrefixCacheScorer scorer({.block_size = 4, .max_prefix_blocks = 256,
                            .lru_capacity_per_server = 100},
                           3);
  std::vector<EndpointView> eps = {endpoint(0, 0), endpoint(1, 0), endpoint(2, 0)};
  // 10 tokens of 4-token blocks: 2 full blocks.
  SchedulingRequest first(tokens(10), "");
  for (double v : scorer.score(first, eps)) EXPECT_DOUBLE_EQ(v, 0.0);
  scorer.on_routed(first, eps[1]);
  EXPECT_EQ(scorer.tracked_blocks(1), 2u);

  // Same 8-token prefix, then 8 different tokens: 4 blocks, 2 match on endpoint 1.
  std::vector<int32_t> longer = tokens(8);
  for (int i = 0; i < 8; ++i) longer.push_back(1000 + i);
  SchedulingRequest second(longer, "");
  auto s = scorer.score(second, eps);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 0.5);
  EXPECT_DOUBLE_EQ(s[2], 0.0);

  // A request that shares only the second block's tokens shares no key: keys are chained.
  std::vector<int32_t> shifted = {99, 98, 97, 96, 4, 5, 6, 7};
  SchedulingRequest third(shifted, "");
  EXPECT_DOUBLE_EQ(scorer.score(third, eps)[1], 0.0);

  // A cache_salt changes the first key, so a salted request does not match.
  SchedulingRequest salted(tokens(10), "tenant-a");
  EXPECT_DOUBLE_EQ(scorer.score(salted, eps)[1], 0.0);
  // Prompts shorter than one block score 0 everywhere.
  SchedulingRequest tiny(tokens(3), "");
  for (double v : scorer.score(tiny, eps)) EXPECT_DOUBLE_EQ(v, 0.0);
}

TEST(PrefixCacheScorerTest, KeysAreTheEnginesBlockHashes) {
  SchedulingRequest request(tokens(40), "salt");
  auto keys = request.block_keys(16, 256);
  const auto expected = kv::hash_token_blocks(tokens(40), 16, "salt");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(std::vector<uint64_t>(keys.begin(), keys.end()), expected);
  EXPECT_EQ(request.block_keys(16, 1).size(), 1u);
  EXPECT_EQ(request.block_keys(8, 256).size(), 5u);
}

TEST(PrefixCacheScorerTest, MaxPrefixBlocksCapsTheTotal) {
  PrefixCacheScorer scorer({.block_size = 4, .max_prefix_blocks = 2,
                            .lru_capacity_per_server = 100},
                           2);
  std::vector<EndpointView> eps = {endpoint(0, 0), endpoint(1, 0)};
  SchedulingRequest a(tokens(8), "");
  scorer.on_routed(a, eps[0]);
  // 6 full blocks, only the first 2 are hashed and both match.
  SchedulingRequest b(tokens(24), "");
  EXPECT_DOUBLE_EQ(scorer.score(b, eps)[0], 1.0);
}

TEST(PrefixCacheScorerTest, LruEvictsLeastRecentlyRoutedTailFirst) {
  PrefixCacheScorer scorer({.block_size = 2, .max_prefix_blocks = 256,
                            .lru_capacity_per_server = 4},
                           1);
  std::vector<EndpointView> eps = {endpoint(0, 0)};
  SchedulingRequest a(tokens(6, 0), "");    // 3 blocks
  SchedulingRequest b(tokens(4, 100), "");  // 2 blocks
  scorer.on_routed(a, eps[0]);
  EXPECT_DOUBLE_EQ(scorer.score(a, eps)[0], 1.0);
  // Capacity 4: adding b's 2 blocks evicts a's oldest entry, its last block (a's blocks went in
  // last-to-first, so its head is the most recent of them).
  scorer.on_routed(b, eps[0]);
  EXPECT_EQ(scorer.tracked_blocks(0), 4u);
  EXPECT_DOUBLE_EQ(scorer.score(b, eps)[0], 1.0);
  EXPECT_DOUBLE_EQ(scorer.score(a, eps)[0], 2.0 / 3.0);
  // Routing a again refreshes it; then c evicts b.
  scorer.on_routed(a, eps[0]);
  SchedulingRequest c(tokens(2, 500), "");
  scorer.on_routed(c, eps[0]);
  EXPECT_DOUBLE_EQ(scorer.score(a, eps)[0], 1.0);
  EXPECT_DOUBLE_EQ(scorer.score(b, eps)[0], 0.0);
  // An endpoint that goes down is forgotten.
  scorer.on_endpoint_down(0);
  EXPECT_EQ(scorer.tracked_blocks(0), 0u);
  EXPECT_DOUBLE_EQ(scorer.score(a, eps)[0], 0.0);
}

// A scorer returning fixed values, to check the weighted sum and clamping.
class FixedScorer : public Scorer {
 public:
  explicit FixedScorer(std::vector<double> values) : values_(std::move(values)) {}
  std::string_view type() const override { return "fixed"; }
  std::vector<double> score(const SchedulingRequest&, std::span<const EndpointView>) override {
    return values_;
  }

 private:
  std::vector<double> values_;
};

TEST(SchedulerTest, WeightedSumOfClampedScores) {
  std::vector<WeightedScorer> scorers = {
      {"a", 2.0, std::make_shared<FixedScorer>(std::vector<double>{0.5, 1.7, -3.0})},
      {"b", 3.0, std::make_shared<FixedScorer>(std::vector<double>{0.2, 0.0, std::nan("")})}};
  Scheduler scheduler("default", std::move(scorers), std::make_unique<MaxScorePicker>(), 7);
  std::vector<EndpointView> eps = {endpoint(0, 0), endpoint(1, 0), endpoint(2, 0)};
  auto result = scheduler.schedule({}, eps);
  ASSERT_EQ(result.totals.size(), 3u);
  EXPECT_DOUBLE_EQ(result.totals[0], 2.0 * 0.5 + 3.0 * 0.2);  // 1.6
  EXPECT_DOUBLE_EQ(result.totals[1], 2.0 * 1.0);              // 1.7 clamped to 1
  EXPECT_DOUBLE_EQ(result.totals[2], 0.0);                    // -3 -> 0, NaN -> 0
  EXPECT_EQ(result.order, (std::vector<size_t>{1, 0, 2}));
  EXPECT_DOUBLE_EQ(result.scores[0][1], 1.0);
  EXPECT_NE(scheduler.describe(result, eps).find("10.0.0.2:8000 total 2.000"), std::string::npos);
}

TEST(SchedulerTest, TiesAreBrokenUniformlyAtRandom) {
  // Endpoints 0, 2 and 3 tie for the best score; endpoint 1 is worse and never picked first.
  std::vector<WeightedScorer> scorers = {
      {"a", 1.0, std::make_shared<FixedScorer>(std::vector<double>{0.9, 0.4, 0.9, 0.9})}};
  Scheduler scheduler("default", std::move(scorers), std::make_unique<MaxScorePicker>(), 12345);
  std::vector<EndpointView> eps = {endpoint(0, 0), endpoint(1, 0), endpoint(2, 0), endpoint(3, 0)};
  std::map<size_t, int> first;
  constexpr int kRounds = 6000;
  for (int i = 0; i < kRounds; ++i) {
    auto result = scheduler.schedule({}, eps);
    first[result.order[0]]++;
    EXPECT_EQ(result.order.back(), 1u);
  }
  EXPECT_EQ(first.count(1), 0u);
  // Each of the three should get a third: 2000 +- 5 sigma (sigma ~ 36.5).
  for (size_t e : {0u, 2u, 3u}) {
    EXPECT_NEAR(first[e], kRounds / 3, 183) << "endpoint " << e;
  }
}

TEST(SchedulerTest, RandomPickerIgnoresScores) {
  std::vector<WeightedScorer> scorers = {
      {"a", 1.0, std::make_shared<FixedScorer>(std::vector<double>{1.0, 0.0})}};
  Scheduler scheduler("default", std::move(scorers), std::make_unique<RandomPicker>(), 99);
  std::vector<EndpointView> eps = {endpoint(0, 0), endpoint(1, 0)};
  int low_first = 0;
  for (int i = 0; i < 2000; ++i) low_first += scheduler.schedule({}, eps).order[0] == 1;
  EXPECT_NEAR(low_first, 1000, 112);  // 5 sigma
}

TEST(SchedulerTest, RoutedRecordsIntoPrefixScorer) {
  auto prefix = std::make_shared<PrefixCacheScorer>(PrefixCacheScorerOptions{}, 2);
  auto queue = std::make_shared<QueueScorer>();
  Scheduler scheduler("default", {{"queue", 2.0, queue}, {"prefix", 3.0, prefix}},
                      std::make_unique<MaxScorePicker>(), 5);
  std::vector<EndpointView> eps = {endpoint(0, 1), endpoint(1, 0)};
  SchedulingRequest request(tokens(64), "");
  auto first = scheduler.schedule(request, eps);
  EXPECT_EQ(first.order[0], 1u);  // shorter queue
  scheduler.routed(request, eps[0]);  // say the request ended up on 0 after a retry
  auto second = scheduler.schedule(request, eps);
  // Endpoint 0: queue 0 x 2 + prefix 1 x 3 = 3; endpoint 1: 1 x 2 + 0 = 2.
  EXPECT_DOUBLE_EQ(second.totals[0], 3.0);
  EXPECT_DOUBLE_EQ(second.totals[1], 2.0);
  EXPECT_EQ(second.order[0], 0u);
}

}  // namespace
}  // namespace kvtier::router
