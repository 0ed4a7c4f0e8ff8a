// llm-d's scorers that follow requests and sessions, the weighted random picker, the label
// filters and endpoint labels.
#include <gtest/gtest.h>

#include <map>
#include <numeric>

#include "router/active_request_scorer.h"
#include "router/label_filters.h"
#include "router/no_hit_lru_scorer.h"
#include "router/pickers.h"
#include "router/prefix_cache_scorer.h"
#include "router/scheduler.h"
#include "router/session_affinity_scorer.h"

namespace kvtier::router {
namespace {

EndpointView endpoint(size_t index) {
  EndpointView v;
  v.index = index;
  v.id = "10.0.0." + std::to_string(index + 1) + ":8000";
  return v;
}

std::vector<EndpointView> endpoints(size_t n) {
  std::vector<EndpointView> eps;
  for (size_t i = 0; i < n; ++i) eps.push_back(endpoint(i));
  return eps;
}

SchedulingRequest request(uint64_t id, std::vector<int32_t> tokens = {}) {
  SchedulingRequest r = tokens.empty() ? SchedulingRequest() : SchedulingRequest(tokens, "");
  r.set_id(id);
  return r;
}

std::vector<int32_t> tokens(int n, int start = 0) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), start);
  return t;
}

// ---- active-request-scorer

struct FakeClock {
  ActiveRequestScorer::Clock::time_point now{};
  std::function<ActiveRequestScorer::Clock::time_point()> fn() {
    return [this] { return now; };
  }
};

TEST(ActiveRequestScorerTest, ScoresMaxMinusCountOverMax) {
  FakeClock clock;
  ActiveRequestScorer scorer(3, std::chrono::seconds(120), clock.fn());
  auto eps = endpoints(3);
  for (double s : scorer.score({}, eps)) EXPECT_DOUBLE_EQ(s, 1.0);
  // Endpoint 0: 4 requests, endpoint 1: 1, endpoint 2: none.
  for (uint64_t id = 1; id <= 4; ++id) scorer.on_routed(request(id), eps[0]);
  scorer.on_routed(request(5), eps[1]);
  auto s = scorer.score({}, eps);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 0.75);  // (4 - 1) / 4
  EXPECT_DOUBLE_EQ(s[2], 1.0);
  // The maximum counts every endpoint, not only the candidates (llm-d's normalisation).
  std::vector<EndpointView> only_1 = {eps[1]};
  EXPECT_DOUBLE_EQ(scorer.score({}, only_1)[0], 0.75);
  // Responses that end take their requests off.
  scorer.on_finished(request(1), &eps[0]);
  scorer.on_finished(request(2), &eps[0]);
  EXPECT_EQ(scorer.active(0), 2u);
  s = scorer.score({}, eps);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 0.5);
  // A request finished twice or never routed changes nothing.
  scorer.on_finished(request(1), &eps[0]);
  scorer.on_finished(request(99), nullptr);
  EXPECT_EQ(scorer.active(0), 2u);
}

TEST(ActiveRequestScorerTest, RequestsOlderThanTheTimeoutAreDropped) {
  FakeClock clock;
  ActiveRequestScorer scorer(2, std::chrono::seconds(10), clock.fn());
  auto eps = endpoints(2);
  scorer.on_routed(request(1), eps[0]);
  clock.now += std::chrono::seconds(6);
  scorer.on_routed(request(2), eps[0]);
  scorer.on_routed(request(3), eps[1]);
  EXPECT_EQ(scorer.active(0), 2u);
  clock.now += std::chrono::seconds(4);  // request 1 is 10 s old
  EXPECT_EQ(scorer.active(0), 1u);
  EXPECT_EQ(scorer.active(1), 1u);
  auto s = scorer.score({}, eps);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 0.0);
  // Its late completion does not count it off a second time.
  scorer.on_finished(request(1), &eps[0]);
  EXPECT_EQ(scorer.active(0), 1u);
  clock.now += std::chrono::seconds(6);
  EXPECT_EQ(scorer.active(0), 0u);
  EXPECT_EQ(scorer.active(1), 0u);
}

// ---- session-affinity-scorer

TEST(SessionAffinityScorerTest, TokenIsBase64OfTheEndpointAndScoresItOne) {
  EXPECT_EQ(SessionAffinityScorer::token_for("10.0.0.2:8000"), "MTAuMC4wLjI6ODAwMA==");
  EXPECT_EQ(SessionAffinityScorer::token_for("a"), "YQ==");
  EXPECT_EQ(SessionAffinityScorer::token_for("ab"), "YWI=");
  EXPECT_EQ(SessionAffinityScorer::token_for("abc"), "YWJj");
  SessionAffinityScorer scorer;
  auto eps = endpoints(3);
  SchedulingRequest r = request(1);
  for (double s : scorer.score(r, eps)) EXPECT_DOUBLE_EQ(s, 0.0);
  r.set_headers({{"X-Session-Token", SessionAffinityScorer::token_for(eps[1].id)}});
  auto s = scorer.score(r, eps);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 1.0);
  EXPECT_DOUBLE_EQ(s[2], 0.0);
  // The cookie later llm-d releases use works too.
  SchedulingRequest c = request(2);
  c.set_headers({{"Cookie", "theme=dark; llm-d-session=" +
                                SessionAffinityScorer::token_for(eps[2].id) + "; x=1"}});
  EXPECT_DOUBLE_EQ(scorer.score(c, eps)[2], 1.0);
  // A token that is not base64, or names an endpoint that is not a candidate, scores 0.
  for (const char* bad : {"%%%", "MTAu", ""}) {
    SchedulingRequest b = request(3);
    b.set_headers({{"x-session-token", bad}});
    for (double v : scorer.score(b, eps)) EXPECT_DOUBLE_EQ(v, 0.0) << bad;
  }
}

TEST(SessionAffinityScorerTest, ResponseCarriesTheHeaderAndCookie) {
  SessionAffinityScorer scorer(3600);
  auto eps = endpoints(2);
  SchedulingRequest r = request(1);
  ResponseHeaders h;
  scorer.response_headers(r, eps[1], h);
  const std::string token = SessionAffinityScorer::token_for(eps[1].id);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0], std::make_pair(std::string("x-session-token"), token));
  EXPECT_EQ(h[1].first, "set-cookie");
  EXPECT_EQ(h[1].second,
            "llm-d-session=" + token + "; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax");
  // A client that already holds the right cookie is not sent it again.
  r.set_headers({{"cookie", "llm-d-session=" + token}});
  h.clear();
  scorer.response_headers(r, eps[1], h);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].first, "x-session-token");
}

// ---- no-hit-lru-scorer

TEST(NoHitLruScorerTest, ColdRequestsPreferEndpointsLeastRecentlyGivenColdRequests) {
  auto prefix = std::make_shared<PrefixCacheScorer>(
      PrefixCacheScorerOptions{.block_size = 4, .max_prefix_blocks = 256,
                               .lru_capacity_per_server = 100},
      3);
  NoHitLruScorer scorer("prefix", prefix, 16);
  auto eps = endpoints(3);
  // Nothing routed yet: a cold request, every endpoint never used: 1, 0.5, 0 in candidate order.
  SchedulingRequest a = request(1, tokens(8, 0));
  auto s = scorer.score(a, eps);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 0.5);
  EXPECT_DOUBLE_EQ(s[2], 0.0);
  scorer.on_routed(a, eps[0]);
  prefix->on_routed(a, eps[0]);
  // Next cold request: 1 and 2 never used rank first, 0 (used) last.
  SchedulingRequest b = request(2, tokens(8, 100));
  s = scorer.score(b, eps);
  EXPECT_DOUBLE_EQ(s[1], 1.0);
  EXPECT_DOUBLE_EQ(s[2], 0.5);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  scorer.on_routed(b, eps[2]);
  prefix->on_routed(b, eps[2]);
  // 1 never used: 1.0; then 0 (oldest cold pick): 0.5; 2 most recent: 0.
  SchedulingRequest c = request(3, tokens(8, 200));
  s = scorer.score(c, eps);
  EXPECT_DOUBLE_EQ(s[1], 1.0);
  EXPECT_DOUBLE_EQ(s[0], 0.5);
  EXPECT_DOUBLE_EQ(s[2], 0.0);
  EXPECT_EQ(scorer.lru_order(), (std::vector<size_t>{0, 2}));
  // A request with a prefix hit somewhere is not cold: 0.5 everywhere, and the LRU stays.
  SchedulingRequest warm = request(4, tokens(8, 0));
  for (double v : scorer.score(warm, eps)) EXPECT_DOUBLE_EQ(v, 0.5);
  scorer.on_routed(warm, eps[1]);
  EXPECT_EQ(scorer.lru_order(), (std::vector<size_t>{0, 2}));
}

TEST(NoHitLruScorerTest, ReadsThePrefixScoresOfTheCycle) {
  NoHitLruScorer scorer("gpu-prefix", nullptr, 16);
  auto eps = endpoints(2);
  const std::vector<double> hit = {0.0, 0.25};
  const std::vector<double> miss = {0.0, 0.0};
  CycleState warm;
  warm.scores.emplace_back("gpu-prefix", &hit);
  for (double v : scorer.score_in_cycle(request(1), eps, warm)) EXPECT_DOUBLE_EQ(v, 0.5);
  CycleState cold;
  cold.scores.emplace_back("other", &hit);
  cold.scores.emplace_back("gpu-prefix", &miss);
  auto s = scorer.score_in_cycle(request(2), eps, cold);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 0.0);
  // One candidate: 1.
  std::vector<EndpointView> one = {eps[1]};
  EXPECT_DOUBLE_EQ(scorer.score_in_cycle(request(3), one, cold)[0], 1.0);
}

TEST(NoHitLruScorerTest, LruKeepsAtMostLruSizeEndpoints) {
  NoHitLruScorer scorer("p", nullptr, 2);
  auto eps = endpoints(3);
  for (uint64_t id = 1; id <= 3; ++id) {
    SchedulingRequest r = request(id);
    scorer.score(r, eps);
    scorer.on_routed(r, eps[id - 1]);
  }
  EXPECT_EQ(scorer.lru_order(), (std::vector<size_t>{1, 2}));
}

// ---- weighted-random-picker

TEST(WeightedRandomPickerTest, PicksInProportionToScore) {
  WeightedRandomPicker picker(1);
  std::mt19937_64 rng(7);
  const std::vector<double> totals = {3.0, 1.0, 0.0, 0.0};
  std::vector<int> first(4, 0);
  constexpr int kDraws = 40000;
  for (int i = 0; i < kDraws; ++i) {
    const auto order = picker.order(totals, rng);
    ASSERT_EQ(order.size(), 4u);
    ++first[order[0]];
    // Zero scores are never ahead of a positive one.
    EXPECT_TRUE((order[2] == 2 && order[3] == 3) || (order[2] == 3 && order[3] == 2));
  }
  EXPECT_NEAR(double(first[0]) / kDraws, 0.75, 0.01);
  EXPECT_NEAR(double(first[1]) / kDraws, 0.25, 0.01);
  EXPECT_EQ(first[2] + first[3], 0);
}

TEST(WeightedRandomPickerTest, AllZeroIsUniformAndSeedsRepeat) {
  WeightedRandomPicker picker(2);
  EXPECT_EQ(picker.max_num_of_endpoints(), 2u);
  std::mt19937_64 rng(11);
  const std::vector<double> zeros(4, 0.0);
  std::vector<int> first(4, 0);
  for (int i = 0; i < 20000; ++i) ++first[picker.order(zeros, rng)[0]];
  for (int n : first) EXPECT_NEAR(n / 20000.0, 0.25, 0.015);
  // The same seed gives the same orders: tests and --seed runs repeat.
  std::mt19937_64 a(5), b(5);
  const std::vector<double> totals = {0.2, 0.9, 0.4, 0.7, 0.1};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(picker.order(totals, a), picker.order(totals, b));
}

// ---- label filters and endpoint labels

std::vector<EndpointLabels> role_labels() {
  return {{{"llm-d.ai/role", "prefill"}},
          {{"llm-d.ai/role", "decode"}, {"zone", "a"}},
          {{"llm-d.ai/role", "both"}, {"zone", "b"}},
          {}};
}

std::vector<size_t> kept(const Filter& f, size_t n) {
  auto eps = endpoints(n);
  const auto keep = f.keep({}, eps);
  std::vector<size_t> out;
  for (size_t i = 0; i < keep.size(); ++i) {
    if (keep[i]) out.push_back(eps[i].index);
  }
  return out;
}

TEST(LabelFilterTest, RoleFiltersFollowLlmdRoles) {
  EXPECT_EQ(kept(*ByLabelFilter::decode(role_labels()), 4), (std::vector<size_t>{1, 2, 3}));
  EXPECT_EQ(kept(*ByLabelFilter::prefill(role_labels()), 4), (std::vector<size_t>{0, 2}));
}

TEST(LabelFilterTest, ByLabelWithAndWithoutUnlabelled) {
  ByLabelFilter zone_a("by-label", "zone", {"a"}, false, role_labels());
  EXPECT_EQ(kept(zone_a, 4), (std::vector<size_t>{1}));
  ByLabelFilter zone_a_or_none("by-label", "zone", {"a"}, true, role_labels());
  EXPECT_EQ(kept(zone_a_or_none, 4), (std::vector<size_t>{0, 1, 3}));
}

TEST(LabelFilterTest, SelectorRequirementsAllHold) {
  using Op = LabelRequirement::Op;
  LabelSelectorFilter f({{"zone", Op::kExists, {}}, {"llm-d.ai/role", Op::kNotIn, {"decode"}}},
                        role_labels());
  EXPECT_EQ(kept(f, 4), (std::vector<size_t>{2}));
  LabelSelectorFilter none({{"zone", Op::kDoesNotExist, {}}}, role_labels());
  EXPECT_EQ(kept(none, 4), (std::vector<size_t>{0, 3}));
  LabelSelectorFilter everything({}, role_labels());
  EXPECT_EQ(kept(everything, 4), (std::vector<size_t>{0, 1, 2, 3}));
}

TEST(EndpointLabelsTest, ParsedFromTheQuery) {
  auto a = EndpointAddress::parse("http://127.0.0.1:8001?llm-d.ai/role=decode&zone=us-east.1");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->id(), "127.0.0.1:8001");
  EXPECT_EQ(a->labels, (EndpointLabels{{"llm-d.ai/role", "decode"}, {"zone", "us-east.1"}}));
  auto b = EndpointAddress::parse("http://127.0.0.1:8001/?empty=");
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->labels.at("empty"), "");
  EXPECT_TRUE(EndpointAddress::parse("127.0.0.1:8001")->labels.empty());
  for (auto [url, expected] : std::vector<std::pair<std::string, std::string>>{
           {"http://h:1?role", "'role' needs a value"},
           {"http://h:1?-bad=x", "label key '-bad'"},
           {"http://h:1?a/b/c=x", "label key 'a/b/c'"},
           {"http://h:1?k=a b", "value 'a b'"},
           {"http://h:1?k=1&k=2", "'k' is given twice"},
           {"http://h:1/v1?k=1", "a path is not allowed"}}) {
    auto r = EndpointAddress::parse(url);
    ASSERT_FALSE(r) << url;
    EXPECT_NE(r.error().message().find(expected), std::string::npos) << r.error().message();
  }
}

// ---- the scheduler with filters

class ConstantScorer : public Scorer {
 public:
  explicit ConstantScorer(std::vector<double> by_index) : by_index_(std::move(by_index)) {}
  std::string_view type() const override { return "constant"; }
  std::vector<double> score(const SchedulingRequest&,
                            std::span<const EndpointView> candidates) override {
    std::vector<double> s;
    for (const auto& c : candidates) s.push_back(by_index_[c.index]);
    return s;
  }

 private:
  std::vector<double> by_index_;
};

TEST(SchedulerFilterTest, FilteredEndpointsAreNeitherScoredNorOrdered) {
  std::vector<WeightedScorer> scorers = {
      {"c", 1.0, std::make_shared<ConstantScorer>(std::vector<double>{0.9, 0.1, 0.5, 0.7})}};
  Scheduler scheduler("default", std::move(scorers), std::make_unique<MaxScorePicker>(), 1);
  scheduler.add_filter("decode", ByLabelFilter::decode(role_labels()));
  auto eps = endpoints(4);
  const auto result = scheduler.schedule({}, eps);
  // Endpoint 0 (prefill) scores best but is filtered out.
  EXPECT_EQ(result.order, (std::vector<size_t>{3, 2, 1}));
  EXPECT_DOUBLE_EQ(result.totals[0], 0.0);
  EXPECT_DOUBLE_EQ(result.scores[0][3], 0.7);
  EXPECT_TRUE(result.filtered_out.empty());
  scheduler.add_filter("zone-c", std::make_unique<ByLabelFilter>(
                                     "by-label", "zone", std::set<std::string>{"c"}, false,
                                     role_labels()));
  const auto none = scheduler.schedule({}, eps);
  EXPECT_TRUE(none.order.empty());
  EXPECT_NE(none.filtered_out.find("filter 'zone-c' (by-label) left none of 3"), std::string::npos)
      << none.filtered_out;
}

}  // namespace
}  // namespace kvtier::router
