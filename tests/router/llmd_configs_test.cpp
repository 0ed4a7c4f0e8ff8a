// llm-d's published EndpointPickerConfigs (tests/router/fixtures/, our own YAML in their
// documented structure) load and pick as their guides describe; the plugins added with them
// are checked and refused with messages naming what is wrong.
#include <gtest/gtest.h>

#include <fstream>
#include <numeric>
#include <sstream>

#include "router/active_request_scorer.h"
#include "router/label_filters.h"
#include "router/no_hit_lru_scorer.h"
#include "router/picker_config.h"
#include "router/pickers.h"
#include "router/plugin_factory.h"
#include "router/precise_prefix_cache_scorer.h"
#include "router/prefix_cache_scorer.h"
#include "router/session_affinity_scorer.h"

namespace kvtier::router {
namespace {

const std::string kFixtures = std::string(KVTIER_SOURCE_DIR) + "/tests/router/fixtures/";

std::vector<EndpointAddress> addresses(std::initializer_list<const char*> urls) {
  std::vector<EndpointAddress> out;
  for (const char* url : urls) out.push_back(*EndpointAddress::parse(url));
  return out;
}

std::vector<EndpointView> views(const std::vector<EndpointAddress>& addresses) {
  std::vector<EndpointView> out;
  for (size_t i = 0; i < addresses.size(); ++i) out.push_back({i, addresses[i].id(), {}});
  return out;
}

SchedulingRequest prompt(uint64_t id, int n, int start) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), start);
  SchedulingRequest r(std::move(t), "");
  r.set_id(id);
  return r;
}

std::unique_ptr<Scheduler> load(const std::string& file,
                                const std::vector<EndpointAddress>& endpoints,
                                const std::string& replace = "", const std::string& with = "") {
  std::ifstream in(kFixtures + file);
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = text.str();
  EXPECT_FALSE(yaml.empty()) << file;
  if (!replace.empty()) {
    const auto at = yaml.find(replace);
    EXPECT_NE(at, std::string::npos) << replace;
    if (at != std::string::npos) yaml.replace(at, replace.size(), with);
  }
  auto config = parse_picker_config(yaml, file);
  EXPECT_TRUE(config) << config.error().message();
  if (!config) return nullptr;
  auto scheduler = build_scheduler(*config, endpoints, 3);
  EXPECT_TRUE(scheduler) << scheduler.error().message();
  return scheduler ? std::move(*scheduler) : nullptr;
}

TEST(LlmdConfigsTest, TieredPrefixCacheGuide) {
  const auto eps = addresses({"http://10.0.0.1:8000", "http://10.0.0.2:8000"});
  auto scheduler = load("llmd-tiered-prefix-cache-cpu.yaml", eps);
  ASSERT_TRUE(scheduler);
  const auto& s = scheduler->scorers();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].scorer->type(), "active-request-scorer");
  EXPECT_EQ(s[0].weight, 2.0);
  EXPECT_EQ(s[1].scorer->type(), "kv-cache-utilization-scorer");
  EXPECT_EQ(s[2].name, "gpu-prefix-cache-scorer");
  EXPECT_EQ(s[3].name, "cpu-prefix-cache-scorer");
  EXPECT_EQ(s[3].weight, 1.0);
  auto* cpu = dynamic_cast<PrefixCacheScorer*>(s[3].scorer.get());
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->options().lru_capacity_per_server, 41000u);
  EXPECT_EQ(dynamic_cast<ActiveRequestScorer*>(s[0].scorer.get())->request_timeout(),
            ActiveRequestScorer::kDefaultRequestTimeout);
  EXPECT_EQ(scheduler->picker().type(), "max-score-picker");

  auto candidates = views(eps);
  // A conversation's first turn goes somewhere; while it runs, an unrelated request goes to the
  // other endpoint: one in flight scores that endpoint 0 on active-request (weight 2).
  SchedulingRequest first = prompt(1, 64, 0);
  auto r1 = scheduler->schedule(first, candidates);
  const size_t home = r1.order[0];
  scheduler->routed(first, candidates[home]);
  SchedulingRequest other = prompt(2, 64, 1000);
  auto r2 = scheduler->schedule(other, candidates);
  EXPECT_EQ(r2.order[0], 1 - home);
  EXPECT_DOUBLE_EQ(r2.totals[home], 2 * 0.0 + 2 * 1.0);
  EXPECT_DOUBLE_EQ(r2.totals[1 - home], 2 * 1.0 + 2 * 1.0);
  scheduler->routed(other, candidates[1 - home]);
  scheduler->finished(other, &candidates[1 - home]);
  scheduler->finished(first, &candidates[home]);
  // The next turn shares the first turn's prefix: both prefix scorers send it home, even with
  // that endpoint's KV cache fuller (2 x 0.4 + 1 + 1 against 2 x 1).
  candidates[home].metrics.kv_usage = 0.6;
  SchedulingRequest second = prompt(3, 96, 0);
  auto r3 = scheduler->schedule(second, candidates);
  EXPECT_EQ(r3.order[0], home);
  EXPECT_NEAR(r3.totals[home], 2 * 1.0 + 2 * 0.4 + 64.0 / 96 + 64.0 / 96, 1e-9);
  EXPECT_DOUBLE_EQ(r3.totals[1 - home], 2 * 1.0 + 2 * 1.0);
}

TEST(LlmdConfigsTest, DefaultPlugins) {
  const auto eps = addresses({"http://10.0.0.1:8000", "http://10.0.0.2:8000"});
  auto scheduler = load("llmd-default-plugins.yaml", eps);
  ASSERT_TRUE(scheduler);
  const auto& s = scheduler->scorers();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].scorer->type(), "queue-scorer");
  EXPECT_EQ(s[2].scorer->type(), "prefix-cache-scorer");
  EXPECT_EQ(s[2].weight, 3.0);
  auto candidates = views(eps);
  // A prefix hit (3) outweighs a longer queue (2) ...
  SchedulingRequest a = prompt(1, 64, 0);
  scheduler->routed(a, candidates[0]);
  candidates[0].metrics.waiting = 4;
  EXPECT_EQ(scheduler->schedule(prompt(2, 64, 0), candidates).order[0], 0u);
  // ... and without one the shorter queue wins.
  EXPECT_EQ(scheduler->schedule(prompt(3, 64, 500), candidates).order[0], 1u);
}

TEST(LlmdConfigsTest, PrecisePrefixCacheGuide) {
  const auto eps = addresses({"http://10.0.0.1:8000", "http://10.0.0.2:8000"});
  // The guide's picker binds tcp://*:5557; a test must not take a fixed port.
  auto scheduler = load("llmd-precise-prefix-cache.yaml", eps, "tcp://*:5557",
                        "inproc://llmd-configs-test");
  ASSERT_TRUE(scheduler);
  const auto& s = scheduler->scorers();
  ASSERT_EQ(s.size(), 3u);
  auto* precise = dynamic_cast<PrecisePrefixCacheScorer*>(s[0].scorer.get());
  ASSERT_NE(precise, nullptr);
  EXPECT_EQ(s[0].weight, 3.0);
  EXPECT_EQ(precise->options().block_size, 64);
  EXPECT_EQ(precise->options().topic_filter, "kv@");
  ASSERT_EQ(precise->options().sources.size(), 1u);
  EXPECT_EQ(precise->options().sources[0].address, "inproc://llmd-configs-test");
  EXPECT_FALSE(precise->options().sources[0].endpoint.has_value());
  // No events yet: load decides (kv 2, queue 2).
  auto candidates = views(eps);
  candidates[0].metrics.kv_usage = 0.5;
  EXPECT_EQ(scheduler->schedule(prompt(1, 128, 0), candidates).order[0], 1u);
}

TEST(LlmdConfigsTest, FiltersSessionsAndColdRequests) {
  const auto eps = addresses({"http://10.0.0.1:8000?llm-d.ai/role=prefill",
                              "http://10.0.0.2:8000?llm-d.ai/role=decode",
                              "http://10.0.0.3:8000?llm-d.ai/role=decode&state=draining",
                              "http://10.0.0.4:8000"});
  auto scheduler = load("llmd-session-affinity-labels.yaml", eps);
  ASSERT_TRUE(scheduler);
  ASSERT_EQ(scheduler->filters().size(), 2u);
  EXPECT_EQ(scheduler->filters()[0].filter->type(), "decode-filter");
  EXPECT_EQ(scheduler->filters()[1].filter->type(), "by-label-selector");
  EXPECT_EQ(scheduler->picker().type(), "weighted-random-picker");
  auto* lru = dynamic_cast<NoHitLruScorer*>(scheduler->scorers()[2].scorer.get());
  ASSERT_NE(lru, nullptr);
  EXPECT_EQ(lru->prefix_plugin_name(), "prefix-cache-scorer");
  EXPECT_EQ(lru->lru_size(), 64u);
  auto candidates = views(eps);
  // Only the decode endpoint that is not draining (1) and the unlabelled one (3) are candidates.
  for (uint64_t id = 1; id <= 20; ++id) {
    SchedulingRequest r = prompt(id, 8, int(id) * 100);
    auto result = scheduler->schedule(r, candidates);
    ASSERT_EQ(result.order.size(), 2u);
    EXPECT_TRUE(result.order[0] == 1 || result.order[0] == 3) << result.order[0];
    scheduler->finished(r, nullptr);
  }
  // A session that names endpoint 3 stays there: its weight (100) dominates.
  for (uint64_t id = 21; id <= 40; ++id) {
    SchedulingRequest r = prompt(id, 8, int(id) * 100);
    r.set_headers({{"x-session-token", SessionAffinityScorer::token_for("10.0.0.4:8000")}});
    auto result = scheduler->schedule(r, candidates);
    EXPECT_EQ(result.order[0], 3u);
    const auto headers = scheduler->response_headers(r, candidates[3]);
    ASSERT_FALSE(headers.empty());
    EXPECT_EQ(headers[0].second, SessionAffinityScorer::token_for("10.0.0.4:8000"));
  }
}

struct BadConfig {
  const char* name;
  std::string yaml;
  std::vector<const char*> expected;
};
void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

std::string config(const std::string& plugins, const std::string& profile_refs) {
  return "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n" + plugins +
         "schedulingProfiles:\n- name: default\n  plugins:\n" + profile_refs;
}

class BadPluginTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadPluginTest, FailsNamingPluginAndKey) {
  const BadConfig& c = GetParam();
  const auto eps = addresses({"http://127.0.0.1:8001", "http://127.0.0.1:8002"});
  auto parsed = parse_picker_config(c.yaml, "epp.yaml");
  ASSERT_TRUE(parsed) << parsed.error().message();
  auto scheduler = build_scheduler(*parsed, eps, 1);
  ASSERT_FALSE(scheduler) << c.name << " was accepted";
  EXPECT_EQ(scheduler.error().code(), ErrorCode::kInvalidArgument);
  for (const char* s : c.expected) {
    EXPECT_NE(scheduler.error().message().find(s), std::string::npos)
        << c.name << ": '" << s << "' missing from: " << scheduler.error().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPluginTest,
    ::testing::Values(
        BadConfig{"bad request timeout",
                  config("- type: active-request-scorer\n  parameters:\n    requestTimeout: "
                         "soon\n",
                         "  - pluginRef: active-request-scorer\n"),
                  {"epp.yaml", "active-request-scorer", "requestTimeout", "soon"}},
        BadConfig{"negative cookie max age",
                  config("- type: session-affinity-scorer\n  parameters:\n    maxAge: -1\n",
                         "  - pluginRef: session-affinity-scorer\n"),
                  {"session-affinity-scorer", "maxAge", "-1"}},
        BadConfig{"no-hit-lru without its prefix plugin",
                  config("- type: no-hit-lru-scorer\n- type: prefix-cache-scorer\n  name: gpu\n",
                         "  - pluginRef: no-hit-lru-scorer\n"),
                  {"no-hit-lru-scorer", "prefixPluginName", "'prefix-cache-scorer'", "'gpu'"}},
        BadConfig{"no-hit-lru naming a queue scorer",
                  config("- type: no-hit-lru-scorer\n  parameters:\n    prefixPluginName: "
                         "queue-scorer\n- type: queue-scorer\n",
                         "  - pluginRef: no-hit-lru-scorer\n"),
                  {"prefixPluginName", "'queue-scorer'", "prefix plugins there: none"}},
        BadConfig{"zero lru size",
                  config("- type: prefix-cache-scorer\n- type: no-hit-lru-scorer\n  "
                         "parameters:\n    lruSize: 0\n",
                         "  - pluginRef: no-hit-lru-scorer\n"),
                  {"no-hit-lru-scorer", "lruSize", "0"}},
        BadConfig{"weighted picker with no endpoints",
                  config("- type: weighted-random-picker\n  parameters:\n    "
                         "maxNumOfEndpoints: 0\n",
                         "  - pluginRef: weighted-random-picker\n"),
                  {"weighted-random-picker", "maxNumOfEndpoints", "0"}},
        BadConfig{"by-label without a label",
                  config("- type: by-label\n  parameters:\n    validValues: [a]\n",
                         "  - pluginRef: by-label\n"),
                  {"by-label", "'label'", "required"}},
        BadConfig{"by-label values not a list",
                  config("- type: by-label\n  parameters:\n    label: zone\n    validValues: a\n",
                         "  - pluginRef: by-label\n"),
                  {"by-label", "validValues", "list of strings"}},
        BadConfig{"selector with a bad operator",
                  config("- type: by-label-selector\n  parameters:\n    matchExpressions:\n    "
                         "- {key: zone, operator: Equals, values: [a]}\n",
                         "  - pluginRef: by-label-selector\n"),
                  {"by-label-selector", "matchExpressions[0].operator", "Equals"}},
        BadConfig{"selector In without values",
                  config("- type: by-label-selector\n  parameters:\n    matchExpressions:\n    "
                         "- {key: zone, operator: In}\n",
                         "  - pluginRef: by-label-selector\n"),
                  {"matchExpressions[0].values", "non-empty", "In"}},
        BadConfig{"pd-profile-handler",
                  config("- type: pd-profile-handler\n  name: pd\n- type: queue-scorer\n",
                         "  - pluginRef: queue-scorer\n"),
                  {"plugin 'pd'", "pd-profile-handler", "not supported", "single-profile-handler"}},
        BadConfig{"two profile handlers",
                  config("- type: single-profile-handler\n  name: a\n- type: "
                         "single-profile-handler\n  name: b\n- type: queue-scorer\n",
                         "  - pluginRef: queue-scorer\n"),
                  {"'a'", "'b'", "profile handlers"}},
        BadConfig{"two profiles with single-profile-handler",
                  "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: "
                  "queue-scorer\n- type: single-profile-handler\n  name: one\nschedulingProfiles:\n"
                  "- name: prefill\n  plugins:\n  - pluginRef: queue-scorer\n- name: decode\n  "
                  "plugins:\n  - pluginRef: queue-scorer\n",
                  {"2 scheduling profiles", "'prefill'", "'decode'",
                   "'one' (single-profile-handler)", "pd-profile-handler"}},
        BadConfig{"unknown type lists the new plugins",
                  config("- type: lora-affinity-scorer\n  name: lora\n",
                         "  - pluginRef: lora\n"),
                  {"'lora'", "lora-affinity-scorer", "active-request-scorer",
                   "session-affinity-scorer", "no-hit-lru-scorer", "weighted-random-picker",
                   "by-label-selector", "prefill-filter"}}),
    [](const ::testing::TestParamInfo<BadConfig>& info) {
      std::string name = info.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace kvtier::router
