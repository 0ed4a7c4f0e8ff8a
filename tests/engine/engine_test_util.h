#pragma once
// Builds engines over the fake model runner and collects what requests stream back.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/fake_connector.h"
#include "engine/fake_model_runner.h"

namespace kvtier::engine::testing {

struct Result {
  std::vector<int32_t> tokens;
  std::string text;
  std::vector<TokenLogprob> logprobs;
  int finishes = 0;
  int deltas = 0;
  RequestOutput last;
};

// Thread-safe: sinks run on the engine thread, tests read on theirs.
class Collector {
 public:
  OutputSink sink_for(const std::string& id) {
    return [this, id](RequestOutput&& out) {
      std::lock_guard lock(mu_);
      Result& r = results_[id];
      r.tokens.insert(r.tokens.end(), out.token_ids.begin(), out.token_ids.end());
      r.text += out.text;
      r.logprobs.insert(r.logprobs.end(), out.logprobs.begin(), out.logprobs.end());
      ++r.deltas;
      if (out.finish_reason) ++r.finishes;
      r.last = std::move(out);
    };
  }
  Result get(const std::string& id) {
    std::lock_guard lock(mu_);
    return results_[id];
  }
  std::map<std::string, Result> all() {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Result> results_;
};

struct TestEngine {
  std::unique_ptr<Engine> engine;
  FakeModelRunner* runner = nullptr;
  FakeConnector* connector = nullptr;
  Collector outputs;

  Status submit(const std::string& id, std::vector<int32_t> prompt, SamplingParams params = {},
                std::string salt = {}) {
    GenerationRequest r;
    r.request_id = id;
    r.prompt_ids = std::move(prompt);
    r.sampling = std::move(params);
    r.cache_salt = std::move(salt);
    r.sink = outputs.sink_for(id);
    return engine->submit(std::move(r));
  }
};

inline EngineConfig small_config(int32_t block_size = 4) {
  EngineConfig c;
  c.block_size = block_size;
  c.max_num_seqs = 64;
  c.max_num_batched_tokens = 512;
  c.max_model_len = 256;
  c.model_dir = "fake-model";
  return c;
}

// `load_polls` > 0 adds a FakeConnector whose loads land after that many polls.
inline std::unique_ptr<TestEngine> make_engine(const EngineConfig& config,
                                               FakeModelRunner::Options options = {},
                                               int32_t load_polls = 0,
                                               std::unique_ptr<kv::KvEventSink> events = nullptr) {
  auto t = std::make_unique<TestEngine>();
  options.block_size = config.block_size;
  auto runner = std::make_unique<FakeModelRunner>(options);
  t->runner = runner.get();
  EngineParts parts;
  if (load_polls > 0) {
    auto connector = std::make_unique<FakeConnector>(runner->kv_pool(), load_polls);
    t->connector = connector.get();
    parts.connector = std::move(connector);
  }
  parts.runner = std::move(runner);
  parts.events = std::move(events);
  if (options.eos_token_id >= 0) parts.eos_token_ids = {options.eos_token_id};
  auto engine = Engine::create(config, std::move(parts));
  EXPECT_TRUE(engine.has_value()) << engine.status().to_string();
  t->engine = std::move(engine).value();
  return t;
}

inline SamplingParams greedy(int32_t max_tokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

inline std::vector<int32_t> random_prompt(std::mt19937& rng, int32_t len, int32_t vocab = 101) {
  std::vector<int32_t> p(static_cast<size_t>(len));
  for (auto& t : p) t = int32_t(rng() % uint32_t(vocab));
  return p;
}

// Reference counts equal the references that sequences and transfers hold; the free queue holds
// exactly the unreferenced blocks; every key finds its block.
inline void expect_block_accounting(const Engine& engine,
                                    const FakeConnector* connector = nullptr) {
  const kv::BlockManager& bm = engine.block_manager();
  const kv::BlockPool& pool = bm.pool();
  std::vector<int32_t> refs(size_t(pool.num_blocks()), 0);
  auto count = [&](const Sequence* s) {
    for (int32_t b : s->kv.table) ++refs[size_t(b)];
    EXPECT_LE(int32_t(s->kv.table.size()), bm.blocks_for(s->num_tokens())) << s->id;
    EXPECT_GE(int32_t(s->kv.table.size()) * bm.block_size(), s->num_computed) << s->id;
  };
  for (const Sequence* s : engine.scheduler().running()) {
    if (s->state == SeqState::kRunning) count(s);
  }
  for (const Sequence* s : engine.scheduler().waiting()) count(s);
  if (connector) {
    for (auto [b, n] : connector->blocks_in_flight()) refs[size_t(b)] += n;
  }
  int32_t free = 0;
  for (int32_t b = 0; b < pool.num_blocks(); ++b) {
    ASSERT_EQ(pool.ref_count(b), refs[size_t(b)]) << "block " << b;
    if (refs[size_t(b)] == 0) ++free;
    if (auto key = pool.key(b)) {
      EXPECT_EQ(pool.find(*key, pool.tokens(b)), b);
    }
  }
  EXPECT_EQ(pool.num_free(), free);
  EXPECT_EQ(pool.over_releases(), 0);
  auto queue = pool.free_queue();
  EXPECT_EQ(int32_t(queue.size()), free);
  for (int32_t b : queue) EXPECT_EQ(pool.ref_count(b), 0);
}

}  // namespace kvtier::engine::testing
