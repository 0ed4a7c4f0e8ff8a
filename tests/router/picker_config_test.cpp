#include <gtest/gtest.h>

#include "router/picker_config.h"
#include "router/plugin_factory.h"
#include "router/precise_prefix_cache_scorer.h"
#include "router/prefix_cache_scorer.h"

namespace kvtier::router {
namespace {

std::vector<EndpointAddress> two_endpoints() {
  return {*EndpointAddress::parse("http://127.0.0.1:8001"),
          *EndpointAddress::parse("http://127.0.0.1:8002")};
}

TEST(PickerConfigTest, ParsesLlmdApiVersionWithWeightsAndParameters) {
  auto config = parse_picker_config(R"(
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- name: prefix
  type: prefix-cache-scorer
  parameters:
    blockSize: 32
    maxPrefixBlocksToMatch: 64
    lruCapacityPerServer: 1000
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: prefix
    weight: 3.5
  - pluginRef: max-score-picker
)");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->api_version, "llm-d.ai/v1alpha1");
  ASSERT_EQ(config->plugins.size(), 3u);
  EXPECT_EQ(config->plugins[0].name, "queue-scorer");  // name defaults to the type
  EXPECT_EQ(config->plugins[1].name, "prefix");
  EXPECT_EQ(config->plugins[1].parameters["blockSize"], 32);
  ASSERT_EQ(config->profiles.size(), 1u);
  const auto& refs = config->profiles[0].plugins;
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0].weight, 2.0);
  EXPECT_EQ(refs[1].weight, 3.5);
  EXPECT_FALSE(refs[2].weight.has_value());

  auto scheduler = build_scheduler(*config, two_endpoints(), 1);
  ASSERT_TRUE(scheduler) << scheduler.error().message();
  ASSERT_EQ((*scheduler)->scorers().size(), 2u);
  EXPECT_EQ((*scheduler)->scorers()[0].weight, 2.0);
  auto* prefix = dynamic_cast<PrefixCacheScorer*>((*scheduler)->scorers()[1].scorer.get());
  ASSERT_NE(prefix, nullptr);
  EXPECT_EQ(prefix->options().block_size, 32);
  EXPECT_EQ(prefix->options().max_prefix_blocks, 64u);
  EXPECT_EQ(prefix->options().lru_capacity_per_server, 1000u);
  EXPECT_EQ((*scheduler)->picker().type(), "max-score-picker");
}

TEST(PickerConfigTest, ParsesOlderApiVersionAndDefaultsWeightAndPicker) {
  auto config = parse_picker_config(R"(
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: load-aware-scorer
  parameters:
    threshold: 10
- type: single-profile-handler
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: load-aware-scorer
)");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->api_version, "inference.networking.x-k8s.io/v1alpha1");
  auto scheduler = build_scheduler(*config, two_endpoints(), 1);
  ASSERT_TRUE(scheduler) << scheduler.error().message();
  ASSERT_EQ((*scheduler)->scorers().size(), 1u);
  EXPECT_EQ((*scheduler)->scorers()[0].weight, 1.0);
  EXPECT_EQ((*scheduler)->picker().type(), "max-score-picker");
}

TEST(PickerConfigTest, DefaultConfigIsQueue2KvUtil2Prefix3MaxScore) {
  auto scheduler = build_scheduler(default_picker_config(), two_endpoints(), 1);
  ASSERT_TRUE(scheduler) << scheduler.error().message();
  const auto& s = (*scheduler)->scorers();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].scorer->type(), "queue-scorer");
  EXPECT_EQ(s[0].weight, 2.0);
  EXPECT_EQ(s[1].scorer->type(), "kv-cache-utilization-scorer");
  EXPECT_EQ(s[1].weight, 2.0);
  EXPECT_EQ(s[2].scorer->type(), "prefix-cache-scorer");
  EXPECT_EQ(s[2].weight, 3.0);
  EXPECT_EQ((*scheduler)->picker().type(), "max-score-picker");
}

TEST(PickerConfigTest, PreciseScorerReadsNestedParameters) {
  auto config = parse_picker_config(R"(
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: precise-prefix-cache-scorer
  parameters:
    tokenProcessorConfig:
      blockSize: 32
      hashSeed: ""
    indexerConfig:
      kvBlockIndexConfig:
        maxPrefixBlocksToMatch: 100
      kvCacheBackendConfigs:
      - name: gpu
        weight: 1.0
      - name: cpu
        weight: 0.5
    kvEventsConfig:
      endpoints:
        "127.0.0.1:8001": inproc://events-a
        "127.0.0.1:8002": inproc://events-b
    speculativeIndexing: true
    speculativeTTL: 1m30s
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: precise-prefix-cache-scorer
    weight: 50
)");
  ASSERT_TRUE(config) << config.error().message();
  auto scheduler = build_scheduler(*config, two_endpoints(), 1);
  ASSERT_TRUE(scheduler) << scheduler.error().message();
  auto* precise =
      dynamic_cast<PrecisePrefixCacheScorer*>((*scheduler)->scorers()[0].scorer.get());
  ASSERT_NE(precise, nullptr);
  const auto& o = precise->options();
  EXPECT_EQ(o.block_size, 32);
  EXPECT_EQ(o.max_prefix_blocks, 100u);
  ASSERT_EQ(o.tiers.size(), 2u);
  EXPECT_EQ(o.tiers[1].name, "cpu");
  EXPECT_EQ(o.tiers[1].weight, 0.5);
  EXPECT_TRUE(o.speculative_indexing);
  EXPECT_EQ(o.speculative_ttl.count(), 90'000);
  ASSERT_EQ(o.sources.size(), 2u);
  EXPECT_EQ(o.sources[0].address, "inproc://events-a");
  EXPECT_EQ(o.sources[0].endpoint, 0u);
  EXPECT_EQ(o.sources[1].endpoint, 1u);
}

// Each bad config must fail with a message naming where the problem is.
struct BadConfig {
  const char* name;
  const char* yaml;
  std::vector<const char*> expected;  // substrings of the message
};

// Names the case in test listings (ctest shows GetParam() otherwise as raw bytes).
void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

class BadPickerConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadPickerConfigTest, FailsNamingPluginAndKey) {
  const BadConfig& c = GetParam();
  auto config = parse_picker_config(c.yaml, "epp.yaml");
  Status status;
  if (!config) {
    status = config.error();
  } else {
    auto scheduler = build_scheduler(*config, two_endpoints(), 1);
    ASSERT_FALSE(scheduler) << c.name << " was accepted";
    status = scheduler.error();
  }
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << status.to_string();
  for (const char* s : c.expected) {
    EXPECT_NE(status.message().find(s), std::string::npos)
        << c.name << ": '" << s << "' missing from: " << status.message();
  }
}

constexpr const char* kHeader =
    "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n";

std::string with_header(const char* body) { return std::string(kHeader) + body; }

const std::string kNegativeLru = with_header(R"(plugins:
- name: prefix
  type: prefix-cache-scorer
  parameters:
    lruCapacityPerServer: -5
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: prefix
)");
const std::string kStringBlockSize = with_header(R"(plugins:
- type: prefix-cache-scorer
  parameters:
    blockSize: sixteen
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: prefix-cache-scorer
)");
const std::string kUnknownType = with_header(R"(plugins:
- name: lora
  type: lora-affinity-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: lora
)");
const std::string kDanglingRef = with_header(R"(plugins:
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: kv-scorer
)");
const std::string kNegativeWeight = with_header(R"(plugins:
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: -1
)");
const std::string kZeroThreshold = with_header(R"(plugins:
- name: load
  type: load-aware-scorer
  parameters:
    threshold: 0
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: load
)");
const std::string kBadTierWeight = with_header(R"(plugins:
- name: precise
  type: precise-prefix-cache-scorer
  parameters:
    indexerConfig:
      kvCacheBackendConfigs:
      - name: gpu
        weight: 1.5
    kvEventsConfig:
      endpoints:
        "127.0.0.1:8001": inproc://a
        "127.0.0.1:8002": inproc://b
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: precise
)");
const std::string kSharedEventsAddress = with_header(R"(plugins:
- name: precise
  type: precise-prefix-cache-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: precise
)");
const std::string kUnknownEventsEndpoint = with_header(R"(plugins:
- name: precise
  type: precise-prefix-cache-scorer
  parameters:
    kvEventsConfig:
      endpoints:
        "10.0.0.9:8000": tcp://10.0.0.9:5557
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: precise
)");
const std::string kTwoProfiles = with_header(R"(plugins:
- type: queue-scorer
schedulingProfiles:
- name: prefill
  plugins:
  - pluginRef: queue-scorer
- name: decode
  plugins:
  - pluginRef: queue-scorer
)");
const std::string kMisspelledParameters = with_header(R"(plugins:
- type: queue-scorer
  paramters:
    x: 1
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
)");
const std::string kDuplicateName = with_header(R"(plugins:
- type: queue-scorer
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
)");
const std::string kBadDuration = with_header(R"(plugins:
- name: precise
  type: precise-prefix-cache-scorer
  parameters:
    speculativeTTL: soon
    kvEventsConfig:
      endpoints:
        "127.0.0.1:8001": inproc://a
        "127.0.0.1:8002": inproc://b
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: precise
)");

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPickerConfigTest,
    ::testing::Values(
        BadConfig{"wrong apiVersion",
                  "apiVersion: v1\nkind: EndpointPickerConfig\nplugins: []\n",
                  {"epp.yaml", "apiVersion 'v1'"}},
        BadConfig{"wrong kind",
                  "apiVersion: llm-d.ai/v1alpha1\nkind: InferencePool\nplugins: []\n",
                  {"kind", "InferencePool"}},
        BadConfig{"missing apiVersion", "kind: EndpointPickerConfig\n", {"apiVersion"}},
        BadConfig{"not YAML", "plugins: [a, b\n", {"epp.yaml", "invalid YAML"}},
        BadConfig{"negative lru", kNegativeLru.c_str(),
                  {"plugin 'prefix'", "prefix-cache-scorer", "lruCapacityPerServer", "-5"}},
        BadConfig{"string block size", kStringBlockSize.c_str(),
                  {"prefix-cache-scorer", "blockSize", "integer", "sixteen"}},
        BadConfig{"unknown type", kUnknownType.c_str(), {"'lora'", "lora-affinity-scorer"}},
        BadConfig{"dangling pluginRef", kDanglingRef.c_str(), {"pluginRef 'kv-scorer'"}},
        BadConfig{"negative weight", kNegativeWeight.c_str(), {"queue-scorer", "weight", "-1"}},
        BadConfig{"zero threshold", kZeroThreshold.c_str(), {"'load'", "threshold", "0"}},
        BadConfig{"tier weight over 1", kBadTierWeight.c_str(),
                  {"'precise'", "kvCacheBackendConfigs[0].weight", "1.5"}},
        BadConfig{"endpoints sharing the default events port", kSharedEventsAddress.c_str(),
                  {"'precise'", "127.0.0.1:8001", "127.0.0.1:8002", "tcp://127.0.0.1:5557"}},
        BadConfig{"events for an unknown endpoint", kUnknownEventsEndpoint.c_str(),
                  {"'precise'", "kvEventsConfig.endpoints.10.0.0.9:8000"}},
        BadConfig{"two profiles", kTwoProfiles.c_str(), {"'prefill'", "'decode'"}},
        BadConfig{"misspelled parameters", kMisspelledParameters.c_str(),
                  {"plugins[0]", "paramters"}},
        BadConfig{"duplicate plugin name", kDuplicateName.c_str(), {"'queue-scorer'", "twice"}},
        BadConfig{"bad duration", kBadDuration.c_str(), {"speculativeTTL", "soon"}}),
    [](const ::testing::TestParamInfo<BadConfig>& info) {
      std::string name = info.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(PickerConfigTest, LoadReportsMissingFile) {
  auto config = load_picker_config("/nonexistent/epp.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(config.error().message().find("/nonexistent/epp.yaml"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::router
