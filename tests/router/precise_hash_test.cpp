// The precise prefix scorer under vLLM's block hashes: tokenProcessorConfig.hashAlgorithm and
// hashSeed choose the keys it predicts; engines whose vllm:cache_config_info names another
// algorithm or seed get one warning each, since their events can never match.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "kv/block_hasher.h"
#include "router/endpoint_metrics.h"
#include "router/picker_config.h"
#include "router/plugin_factory.h"
#include "router/precise_prefix_cache_scorer.h"

namespace kvtier::router {
namespace {

std::vector<int32_t> tokens(int n) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 7919) % 151936);
  return t;
}

std::shared_ptr<const kv::BlockHasher> hasher(kv::HashAlgo algo, std::string seed) {
  return std::make_shared<const kv::BlockHasher>(kv::BlockHashConfig{algo, std::move(seed)});
}

// Collects what the default logger writes while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() const { return out_.str(); }
  size_t count(const std::string& needle) const {
    const std::string t = text();
    size_t n = 0;
    for (size_t at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

Expected<std::unique_ptr<Scheduler>> scheduler_for(const std::string& token_config) {
  auto config = parse_picker_config(R"(
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: precise-prefix-cache-scorer
  parameters:
    tokenProcessorConfig:
)" + token_config + R"(
    kvEventsConfig:
      endpoints:
        "127.0.0.1:8001": inproc://hash-events-a
        "127.0.0.1:8002": inproc://hash-events-b
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: precise-prefix-cache-scorer
)");
  if (!config) return config.error();
  return build_scheduler(*config, {*EndpointAddress::parse("127.0.0.1:8001"),
                                   *EndpointAddress::parse("127.0.0.1:8002")});
}

TEST(PreciseHashTest, ReadsHashAlgorithmAndSeed) {
  auto scheduler = scheduler_for(R"(      blockSize: 16
      hashSeed: "42"
      hashAlgorithm: sha256_cbor)");
  ASSERT_TRUE(scheduler) << scheduler.error().message();
  auto* precise = dynamic_cast<PrecisePrefixCacheScorer*>((*scheduler)->scorers()[0].scorer.get());
  ASSERT_NE(precise, nullptr);
  const kv::BlockHasher& h = *precise->options().hasher;
  EXPECT_EQ(h.algo(), kv::HashAlgo::kSha256Cbor);
  EXPECT_EQ(h.seed(), std::optional<std::string>("42"));
  // The request's keys are vLLM's for PYTHONHASHSEED=42.
  SchedulingRequest request(tokens(48), "");
  auto span = request.block_keys(h, 16, 256);
  const std::vector<uint64_t> keys(span.begin(), span.end());
  EXPECT_EQ(keys, hasher(kv::HashAlgo::kSha256Cbor, "42")->keys(tokens(48), 16));
  // The default keys of the same request are another, separately kept, chain.
  span = request.block_keys(16, 256);
  const std::vector<uint64_t> xxh3(span.begin(), span.end());
  ASSERT_EQ(xxh3.size(), 3u);
  EXPECT_NE(xxh3, keys);
}

TEST(PreciseHashTest, NoSeedMeansLlmdsEmptySeedAndNoAlgorithmMeansXxh3) {
  auto scheduler = scheduler_for("      blockSize: 16\n      hashAlgorithm: sha256_cbor_64bit");
  ASSERT_TRUE(scheduler) << scheduler.error().message();
  auto* precise = dynamic_cast<PrecisePrefixCacheScorer*>((*scheduler)->scorers()[0].scorer.get());
  EXPECT_EQ(precise->options().hasher->seed(), std::optional<std::string>(""));
  EXPECT_EQ(precise->options().hasher->keys(tokens(32), 16),
            hasher(kv::HashAlgo::kSha256Cbor64bit, "")->keys(tokens(32), 16));

  scheduler = scheduler_for("      blockSize: 16");
  ASSERT_TRUE(scheduler) << scheduler.error().message();
  precise = dynamic_cast<PrecisePrefixCacheScorer*>((*scheduler)->scorers()[0].scorer.get());
  EXPECT_EQ(precise->options().hasher->algo(), kv::HashAlgo::kXxh3_64);
}

TEST(PreciseHashTest, PickleAlgorithmsAreRefusedNamingTheParameter) {
  auto scheduler = scheduler_for("      hashAlgorithm: sha256");
  ASSERT_FALSE(scheduler);
  const std::string m = scheduler.error().message();
  EXPECT_NE(m.find("tokenProcessorConfig.hashAlgorithm"), std::string::npos) << m;
  EXPECT_NE(m.find("pickle"), std::string::npos) << m;
  scheduler = scheduler_for("      hashAlgorithm: md5");
  ASSERT_FALSE(scheduler);
  EXPECT_NE(scheduler.error().message().find("'md5'"), std::string::npos);
}

std::unique_ptr<PrecisePrefixCacheScorer> scorer(std::shared_ptr<const kv::BlockHasher> h) {
  PrecisePrefixCacheScorerOptions o;
  o.hasher = std::move(h);
  auto s = PrecisePrefixCacheScorer::create(std::move(o), {"127.0.0.1:8001", "127.0.0.1:8002"});
  EXPECT_TRUE(s) << s.error().message();
  return std::move(*s);
}

kv::BlockStoredEvent stored(std::vector<uint64_t> keys) {
  kv::BlockStoredEvent e;
  e.block_hashes = std::move(keys);
  return e;
}

TEST(PreciseHashTest, MatchesOnlyTheEngineWithTheSameSeed) {
  auto s = scorer(hasher(kv::HashAlgo::kSha256Cbor, "42"));
  const auto prompt = tokens(64);
  // Endpoint 0's engine runs PYTHONHASHSEED=42, endpoint 1's 43; both hold the whole prompt.
  s->index().apply(0, stored(hasher(kv::HashAlgo::kSha256Cbor, "42")->keys(prompt, 16)));
  s->index().apply(1, stored(hasher(kv::HashAlgo::kSha256Cbor, "43")->keys(prompt, 16)));
  ASSERT_EQ(s->index().count(1, "gpu"), 4u);
  std::vector<EndpointView> views = {{0, "127.0.0.1:8001", {}}, {1, "127.0.0.1:8002", {}}};
  auto scores = s->score(SchedulingRequest(prompt, ""), views);
  EXPECT_EQ(scores, (std::vector<double>{1.0, 0.0}));
  // A cache_salt changes every key: nothing matches.
  scores = s->score(SchedulingRequest(prompt, "tenant-a"), views);
  EXPECT_EQ(scores, (std::vector<double>{0.0, 0.0}));
}

TEST(PreciseHashTest, WarnsOncePerEndpointWhoseAlgorithmOrSeedDiffers) {
  const auto ours = hasher(kv::HashAlgo::kSha256Cbor, "42");
  auto s = scorer(ours);
  std::vector<EndpointView> views = {{0, "127.0.0.1:8001", {}}, {1, "127.0.0.1:8002", {}}};
  views[0].metrics.hash_algo = "sha256";  // a vLLM engine on its default (pickle)
  views[1].metrics.hash_algo = "sha256_cbor";
  views[1].metrics.hash_fingerprint = ours->fingerprint();
  LogCapture log;
  const SchedulingRequest request(tokens(32), "");
  s->score(request, views);
  s->score(request, views);
  EXPECT_EQ(log.count("endpoint 127.0.0.1:8001 hashes blocks with 'sha256'"), 1u) << log.text();
  EXPECT_EQ(log.count("127.0.0.1:8002"), 0u) << log.text();
  // Same algorithm, another seed: a kvtier engine's fingerprint tells.
  views[1].metrics.hash_fingerprint = hasher(kv::HashAlgo::kSha256Cbor, "43")->fingerprint();
  s->score(request, views);
  s->score(request, views);
  EXPECT_EQ(log.count("endpoint 127.0.0.1:8002 hashes blocks with 'sha256_cbor' from another "
                      "hash seed"),
            1u)
      << log.text();
}

TEST(PreciseHashTest, ReadsTheAlgorithmAndFingerprintFromCacheConfigInfo) {
  auto m = parse_endpoint_metrics(
      "vllm:num_requests_waiting{model_name=\"m\"} 0\n"
      "vllm:cache_config_info{block_size=\"16\",prefix_caching_hash_algo=\"sha256_cbor\","
      "prefix_caching_hash_fingerprint=\"00ff00ff00ff00ff\"} 1.0\n");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->hash_algo, std::optional<std::string>("sha256_cbor"));
  EXPECT_EQ(m->hash_fingerprint, std::optional<uint64_t>(0x00ff00ff00ff00ffull));
  // vLLM's own labels carry no fingerprint.
  m = parse_endpoint_metrics(
      "vllm:num_requests_running 1\n"
      "vllm:cache_config_info{block_size=\"16\",prefix_caching_hash_algo=\"sha256\"} 1.0\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->hash_algo, std::optional<std::string>("sha256"));
  EXPECT_FALSE(m->hash_fingerprint);
}

}  // namespace
}  // namespace kvtier::router
