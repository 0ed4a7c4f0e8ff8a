// A failed CPU-tier transfer moves kvtier:kv_offload_failed_transfers_total on /metrics: the
// engine over the fake model and a tier whose first load (or store) fails, its stats rendered
// as the server renders them.
#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>

#include "engine/engine_test_util.h"
#include "server/metrics_text.h"

namespace kvtier::server {
namespace {

using engine::testing::greedy;
using engine::testing::make_engine;
using engine::testing::small_config;

// The value of `name{...,transfer_type="<type>"}` in a rendered exposition; -1 when absent.
double sample(const std::string& text, const std::string& name, const std::string& type) {
  std::istringstream in(text);
  std::string line;
  const std::string label = "transfer_type=\"" + type + "\"}";
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0) continue;
    const size_t at = line.find(label);
    if (at == std::string::npos) continue;
    return std::stod(line.substr(at + label.size()));
  }
  return -1;
}

std::string scrape(engine::Engine& engine) {
  MetricsContext c;
  c.model_name = "fake-model";
  c.info = engine.info();
  c.stats = engine.stats();
  return render_metrics(c);
}

std::vector<int32_t> prompt_of(uint32_t seed, int32_t len) {
  std::mt19937 rng(seed);
  return engine::testing::random_prompt(rng, len);
}

TEST(OffloadFailureMetrics, FailedLoadAndStoreMoveTheirCounters) {
  engine::testing::FakeModelRunner::Options options;
  options.num_blocks = 24;
  auto config = small_config(4);
  config.max_model_len = 96;
  auto t = make_engine(config, options, /*load_polls=*/2);
  t->connector->fail_store_number = 3;  // one of the first prompt's blocks
  const auto prompt = prompt_of(31, 40);
  ASSERT_TRUE(t->submit("warm", prompt, greedy(4)).is_ok());
  t->engine->run_until_idle();
  const std::string name = "kvtier:kv_offload_failed_transfers_total";
  std::string text = scrape(*t->engine);
  EXPECT_NE(text.find("# TYPE kvtier:kv_offload_failed_transfers counter"), std::string::npos);
  EXPECT_EQ(sample(text, name, "GPU_to_CPU"), 1.0);
  EXPECT_EQ(sample(text, name, "CPU_to_GPU"), 0.0);

  // Evict the prompt from the GPU, then ask for it again: its load fails.
  ASSERT_TRUE(t->submit("evict", prompt_of(99, 90), greedy(4)).is_ok());
  t->engine->run_until_idle();
  t->connector->fail_load_number = t->connector->loads_started + 1;
  ASSERT_TRUE(t->submit("again", prompt, greedy(4)).is_ok());
  t->engine->run_until_idle();
  ASSERT_EQ(t->connector->failed_loads, 1);
  text = scrape(*t->engine);
  EXPECT_EQ(sample(text, name, "CPU_to_GPU"), 1.0);
  EXPECT_EQ(sample(text, name, "GPU_to_CPU"), 1.0);
  EXPECT_EQ(t->outputs.get("again").tokens, t->outputs.get("warm").tokens);
}

}  // namespace
}  // namespace kvtier::server
