// The EngineClient contract: validation, outputs, aborts, shutdown, stats, KV events.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "engine/engine_test_util.h"
#include "kv/block_test_sink.h"

namespace kvtier::engine::testing {
namespace {

struct BadRequest {
  std::string name;
  std::function<void(GenerationRequest&)> mutate;
  ErrorCode code;
  std::string message;
};

TEST(EngineApi, RejectsBadRequestsWithoutCallingTheSink) {
  auto config = small_config();
  config.max_model_len = 64;
  auto t = make_engine(config);
  std::vector<BadRequest> cases = {
      {"empty prompt", [](auto& r) { r.prompt_ids.clear(); }, ErrorCode::kInvalidArgument,
       "prompt is empty"},
      {"token out of vocabulary", [](auto& r) { r.prompt_ids[1] = 101; }, ErrorCode::kOutOfRange,
       "prompt token 101 at position 1"},
      {"negative token", [](auto& r) { r.prompt_ids[0] = -1; }, ErrorCode::kOutOfRange,
       "position 0"},
      {"prompt at max_model_len", [](auto& r) { r.prompt_ids.assign(64, 1); },
       ErrorCode::kOutOfRange,
       "maximum context length is 64 tokens. However, your request has 64 input tokens"},
      {"prompt + max_tokens too long",
       [](auto& r) {
         r.prompt_ids.assign(60, 1);
         r.sampling.max_tokens = 5;
       },
       ErrorCode::kOutOfRange, "'max_tokens' or 'max_completion_tokens' is too large: 5"},
      {"max_tokens 0", [](auto& r) { r.sampling.max_tokens = 0; }, ErrorCode::kInvalidArgument,
       "max_tokens must be at least 1"},
      {"min_tokens > max_tokens", [](auto& r) { r.sampling.min_tokens = 20; },
       ErrorCode::kInvalidArgument, "min_tokens"},
      {"negative temperature", [](auto& r) { r.sampling.temperature = -0.5f; },
       ErrorCode::kInvalidArgument, "temperature"},
      {"top_p 0", [](auto& r) { r.sampling.top_p = 0.0f; }, ErrorCode::kInvalidArgument, "top_p"},
      {"top_p above 1", [](auto& r) { r.sampling.top_p = 1.5f; }, ErrorCode::kInvalidArgument,
       "top_p"},
      {"top_k -2", [](auto& r) { r.sampling.top_k = -2; }, ErrorCode::kInvalidArgument, "top_k"},
      {"min_p 2", [](auto& r) { r.sampling.min_p = 2.0f; }, ErrorCode::kInvalidArgument, "min_p"},
      {"presence 3", [](auto& r) { r.sampling.presence_penalty = 3.0f; },
       ErrorCode::kInvalidArgument, "presence_penalty"},
      {"frequency -3", [](auto& r) { r.sampling.frequency_penalty = -3.0f; },
       ErrorCode::kInvalidArgument, "frequency_penalty"},
      {"repetition 0", [](auto& r) { r.sampling.repetition_penalty = 0.0f; },
       ErrorCode::kInvalidArgument, "repetition_penalty"},
      {"logprobs 21", [](auto& r) { r.sampling.logprobs = 21; }, ErrorCode::kInvalidArgument,
       "logprobs must be in [0, 20]"},
      {"stop without tokenizer", [](auto& r) { r.sampling.stop = {"x"}; },
       ErrorCode::kInvalidArgument, "stop strings need a tokenizer"},
      {"stop token out of vocabulary",
       [](auto& r) {
         r.sampling.stop_token_ids = {5, 500};
       },
       ErrorCode::kOutOfRange, "stop_token_ids[1] = 500"},
      {"empty request id", [](auto& r) { r.request_id.clear(); }, ErrorCode::kInvalidArgument,
       "request_id is empty"},
      {"no sink", [](auto& r) { r.sink = nullptr; }, ErrorCode::kInvalidArgument, "no output sink"},
  };
  std::atomic<int> sink_calls = 0;
  for (const auto& c : cases) {
    GenerationRequest r;
    r.request_id = "bad";
    r.prompt_ids = {1, 2, 3};
    r.sampling = greedy(10);
    r.sink = [&](RequestOutput&&) { ++sink_calls; };
    c.mutate(r);
    Status s = t->engine->submit(std::move(r));
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s.to_string();
    EXPECT_NE(s.message().find(c.message), std::string::npos) << c.name << ": " << s.message();
  }
  t->engine->run_until_idle();
  EXPECT_EQ(sink_calls.load(), 0);
  EXPECT_EQ(t->engine->stats().num_steps, 0u);
}

TEST(EngineApi, DuplicateIdsAreRejectedUntilTheFirstFinishes) {
  auto t = make_engine(small_config());
  ASSERT_TRUE(t->submit("x", {1, 2, 3}, greedy(2)).is_ok());
  EXPECT_EQ(t->submit("x", {1, 2, 3}, greedy(2)).code(), ErrorCode::kAlreadyExists);
  t->engine->run_until_idle();
  EXPECT_TRUE(t->submit("x", {4, 5}, greedy(2)).is_ok());
  t->engine->run_until_idle();
}

TEST(EngineApi, StreamsOneDeltaPerTokenWithCumulativeCounts) {
  auto t = make_engine(small_config());
  std::vector<RequestOutput> deltas;
  GenerationRequest r;
  r.request_id = "s";
  r.prompt_ids = {5, 6, 7, 8, 9};
  r.sampling = greedy(4);
  r.sink = [&](RequestOutput&& o) { deltas.push_back(std::move(o)); };
  ASSERT_TRUE(t->engine->submit(std::move(r)).is_ok());
  t->engine->run_until_idle();
  ASSERT_EQ(deltas.size(), 4u);
  for (size_t i = 0; i < deltas.size(); ++i) {
    EXPECT_EQ(deltas[i].request_id, "s");
    EXPECT_EQ(deltas[i].token_ids.size(), 1u);
    EXPECT_EQ(deltas[i].completion_tokens, int32_t(i) + 1);
    EXPECT_EQ(deltas[i].prompt_tokens, 5);
    EXPECT_EQ(deltas[i].finish_reason.has_value(), i == 3);
  }
  EXPECT_EQ(deltas.back().finish_reason, FinishReason::kLength);
}

TEST(EngineApi, EosAndStopTokensFinishWithStop) {
  FakeModelRunner::Options options;
  auto t = make_engine(small_config(), options);
  // Find what greedy generates, then make its third token a stop token.
  ASSERT_TRUE(t->submit("probe", {1, 2, 3}, greedy(5)).is_ok());
  t->engine->run_until_idle();
  const auto probe = t->outputs.get("probe").tokens;
  ASSERT_EQ(probe.size(), 5u);

  SamplingParams p = greedy(5);
  p.stop_token_ids = {probe[2]};
  ASSERT_TRUE(t->submit("stop", {1, 2, 3}, p).is_ok());
  p.min_tokens = 4;  // the stop token may not end the request before four tokens
  ASSERT_TRUE(t->submit("min", {1, 2, 3}, p).is_ok());
  t->engine->run_until_idle();
  Result stop = t->outputs.get("stop");
  EXPECT_EQ(stop.tokens, std::vector<int32_t>(probe.begin(), probe.begin() + 3));
  EXPECT_EQ(stop.last.finish_reason, FinishReason::kStop);
  EXPECT_EQ(stop.last.stop_token_id, probe[2]);
  EXPECT_EQ(stop.last.stop_reason, std::to_string(probe[2]));
  Result min = t->outputs.get("min");
  EXPECT_GE(min.tokens.size(), 4u);
  // min_tokens masks stop tokens while it holds, so the first tokens cannot be the stop token.
  for (size_t i = 0; i < 4 && i < min.tokens.size(); ++i) EXPECT_NE(min.tokens[i], probe[2]);

  FakeModelRunner::Options eos_options;
  eos_options.eos_token_id = probe[2];
  auto e = make_engine(small_config(), eos_options);
  SamplingParams q = greedy(5);
  q.ignore_eos = false;
  ASSERT_TRUE(e->submit("eos", {1, 2, 3}, q).is_ok());
  q.ignore_eos = true;
  ASSERT_TRUE(e->submit("ignore", {1, 2, 3}, q).is_ok());
  e->engine->run_until_idle();
  EXPECT_EQ(e->outputs.get("eos").tokens.size(), 3u);
  EXPECT_EQ(e->outputs.get("eos").last.finish_reason, FinishReason::kStop);
  EXPECT_FALSE(e->outputs.get("eos").last.stop_reason.has_value());
  EXPECT_EQ(e->outputs.get("ignore").tokens, probe);
}

TEST(EngineApi, AbortFreesBlocksAndOthersContinue) {
  auto t = make_engine(small_config());
  ASSERT_TRUE(t->submit("a", std::vector<int32_t>(30, 4), greedy(50)).is_ok());
  ASSERT_TRUE(t->submit("b", std::vector<int32_t>(10, 5), greedy(20)).is_ok());
  for (int i = 0; i < 5; ++i) t->engine->step();
  t->engine->abort("a");
  t->engine->abort("unknown");
  t->engine->step();
  Result a = t->outputs.get("a");
  EXPECT_EQ(a.finishes, 1);
  EXPECT_EQ(a.last.finish_reason, FinishReason::kAbort);
  EXPECT_TRUE(a.last.token_ids.empty());
  expect_block_accounting(*t->engine);
  t->engine->run_until_idle();
  t->engine->abort("a");  // already finished: ignored
  t->engine->run_until_idle();
  EXPECT_EQ(t->outputs.get("a").finishes, 1);
  EXPECT_EQ(t->outputs.get("b").tokens.size(), 20u);
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), t->engine->block_manager().num_blocks());
}

TEST(EngineApi, AbortBeforeTheFirstStepStillReportsAbort) {
  auto t = make_engine(small_config());
  ASSERT_TRUE(t->submit("a", {1, 2, 3}, greedy(5)).is_ok());
  t->engine->abort("a");
  t->engine->run_until_idle();
  EXPECT_EQ(t->outputs.get("a").finishes, 1);
  EXPECT_EQ(t->outputs.get("a").last.finish_reason, FinishReason::kAbort);
  EXPECT_EQ(t->runner->forward_calls, 0);
}

TEST(EngineApi, ForwardFailureFailsTheBatchAndFreesItsBlocks) {
  auto t = make_engine(small_config());
  ASSERT_TRUE(t->submit("a", {1, 2, 3}, greedy(5)).is_ok());
  t->runner->fail_next = internal_error("device lost");
  t->engine->run_until_idle();
  Result a = t->outputs.get("a");
  EXPECT_EQ(a.last.finish_reason, FinishReason::kError);
  EXPECT_NE(a.last.error.message().find("device lost"), std::string::npos);
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), t->engine->block_manager().num_blocks());
}

TEST(EngineApi, ThreadedClientsAndShutdownFinishingAccepted) {
  auto t = make_engine(small_config());
  t->engine->start();
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 16; ++i) {
        const std::string id = fmt::format("c{}-{}", c, i);
        EXPECT_TRUE(t->submit(id, {1 + c, 2 + i, 3}, greedy(1 + i % 5)).is_ok());
      }
    });
  }
  for (auto& th : clients) th.join();
  EXPECT_TRUE(t->engine->shutdown(/*finish_accepted=*/true));
  auto all = t->outputs.all();
  EXPECT_EQ(all.size(), 64u);
  for (const auto& [id, r] : all) {
    EXPECT_EQ(r.finishes, 1) << id;
    EXPECT_EQ(r.last.finish_reason, FinishReason::kLength) << id;
  }
  EXPECT_EQ(t->submit("late", {1}, greedy(1)).code(), ErrorCode::kUnavailable);
  const EngineStats s = t->engine->stats();
  EXPECT_EQ(s.num_requests_running, 0);
  EXPECT_EQ(s.prompt_tokens, 64u * 3u);
}

TEST(EngineApi, ShutdownWithoutFinishingAbortsEveryAcceptedRequest) {
  auto t = make_engine(small_config());
  std::atomic<bool> slow = true;
  t->runner->on_forward = [&](const model::ForwardBatch&) {
    if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  };
  t->engine->start();
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(t->submit(fmt::format("r{}", i), {1, 2}, greedy(200)).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(t->engine->shutdown(/*finish_accepted=*/true, std::chrono::milliseconds(5)));
  for (const auto& [id, r] : t->outputs.all()) {
    EXPECT_EQ(r.finishes, 1) << id;
    EXPECT_EQ(r.last.finish_reason, FinishReason::kAbort) << id;
  }
  EXPECT_EQ(t->outputs.all().size(), 8u);
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), t->engine->block_manager().num_blocks());
}

TEST(EngineApi, TimingsFollowTheInjectedClock) {
  auto runner = std::make_unique<FakeModelRunner>(FakeModelRunner::Options{});
  std::atomic<int64_t> ticks = 0;
  EngineParts parts;
  parts.runner = std::move(runner);
  parts.clock = [&] { return Clock::time_point(std::chrono::seconds(++ticks)); };
  auto engine = std::move(Engine::create(small_config(), std::move(parts))).value();
  RequestOutput last;
  GenerationRequest r;
  r.request_id = "t";
  r.prompt_ids = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  r.sampling = greedy(3);
  r.sink = [&](RequestOutput&& o) { last = std::move(o); };
  ASSERT_TRUE(engine->submit(std::move(r)).is_ok());
  engine->run_until_idle();
  const RequestTimings& tm = last.timings;
  EXPECT_GT(tm.arrival.time_since_epoch().count(), 0);
  EXPECT_LT(tm.arrival, tm.first_scheduled);
  EXPECT_LE(tm.first_scheduled, tm.first_token);
  EXPECT_LT(tm.first_token, tm.finished);
}

TEST(EngineApi, StatsCountTokensHitsAndSteps) {
  auto t = make_engine(small_config());
  std::vector<int32_t> prompt(20, 7);
  ASSERT_TRUE(t->submit("a", prompt, greedy(3)).is_ok());
  t->engine->run_until_idle();
  ASSERT_TRUE(t->submit("b", prompt, greedy(3)).is_ok());
  t->engine->step();
  EngineStats mid = t->engine->stats();
  EXPECT_EQ(mid.num_requests_running, 1);
  EXPECT_GT(mid.kv_cache_usage, 0.0);
  t->engine->run_until_idle();
  const EngineStats s = t->engine->stats();
  EXPECT_EQ(s.prompt_tokens, 40u);
  EXPECT_EQ(s.generation_tokens, 6u);
  EXPECT_EQ(s.prefix_cache_queries, 40u);
  EXPECT_EQ(s.prefix_cache_hits, 19u);  // b: five full blocks, all but the last token
  EXPECT_EQ(t->outputs.get("b").last.cached_tokens, 19);
  EXPECT_EQ(s.num_steps, 6u);
  EXPECT_EQ(s.iteration_tokens.count, 6u);
  // First steps count the whole prompt with its first token (vLLM's definition).
  EXPECT_DOUBLE_EQ(s.iteration_tokens.sum, 46.0);
  EXPECT_EQ(s.iteration_tokens.bounds.front(), 1.0);
  EXPECT_EQ(s.iteration_tokens.bounds.back(), 16384.0);
  EXPECT_EQ(s.kv_cache_usage, 0.0);
  EXPECT_TRUE(s.transfers.empty());
}

TEST(EngineApi, ReportsGpuKvEventsAndFlushesEachStep) {
  auto sink = std::make_unique<kv::testing::RecordingEventSink>();
  auto* events = sink.get();
  FakeModelRunner::Options options;
  options.num_blocks = 6;
  auto config = small_config();
  config.max_model_len = 24;
  auto t = make_engine(config, options, 0, std::move(sink));
  std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  ASSERT_TRUE(t->submit("a", prompt, greedy(4)).is_ok());
  t->engine->run_until_idle();
  // The prompt's two full blocks in the first step, the third once 12 tokens were computed.
  ASSERT_EQ(events->stored.size(), 2u);
  EXPECT_EQ(events->stored[0].block_hashes.size(), 2u);
  EXPECT_EQ(events->stored[0].token_ids, std::vector<int32_t>(prompt.begin(), prompt.begin() + 8));
  EXPECT_EQ(events->stored[0].medium, "GPU");
  EXPECT_EQ(events->stored[0].block_size, 4);
  EXPECT_EQ(events->stored[1].parent_block_hash, events->stored[0].block_hashes[1]);
  EXPECT_EQ(events->flushes, int(t->engine->stats().num_steps));
  EXPECT_TRUE(events->removed.empty());
  // A request that needs every block evicts the cached ones.
  ASSERT_TRUE(t->submit("b", std::vector<int32_t>(20, 3), greedy(4)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(events->removed.size(), 3u);
  for (const auto& e : events->removed) EXPECT_EQ(e.medium, "GPU");
}

TEST(EngineApi, LogprobsThroughTheEngine) {
  auto t = make_engine(small_config());
  SamplingParams p = greedy(3);
  p.logprobs = 5;
  ASSERT_TRUE(t->submit("l", {1, 2, 3}, p).is_ok());
  t->engine->run_until_idle();
  Result r = t->outputs.get("l");
  ASSERT_EQ(r.logprobs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& lp = r.logprobs[i];
    EXPECT_EQ(lp.token_id, r.tokens[i]);
    ASSERT_EQ(lp.top.size(), 5u);
    EXPECT_EQ(lp.top[0].first, lp.token_id);  // greedy picks the most likely
    EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
    for (size_t k = 1; k < 5; ++k) EXPECT_GE(lp.top[k - 1].second, lp.top[k].second);
    EXPECT_LT(lp.logprob, 0.0f);
  }
}

TEST(EngineApi, CreateRejectsInconsistentConfigs) {
  auto make = [](EngineConfig c, FakeModelRunner::Options o) {
    o.block_size = 4;
    EngineParts parts;
    parts.runner = std::make_unique<FakeModelRunner>(o);
    return Engine::create(c, std::move(parts));
  };
  auto c = small_config();
  c.block_size = 8;
  EXPECT_NE(make(c, {}).status().message().find("block_size is 8"), std::string::npos);
  c = small_config();
  c.max_model_len = 5000;
  EXPECT_NE(make(c, {}).status().message().find("max_position_embeddings"), std::string::npos);
  c.max_model_len = 2000;  // 256 blocks of 4 hold 1024 tokens
  EXPECT_EQ(make(c, {}).status().code(), ErrorCode::kResourceExhausted);
  c.max_model_len = 0;  // from the model: lowered to what the cache holds
  auto e = make(c, {});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ((*e)->info().max_model_len, 1024);
  c.max_num_seqs = 0;
  EXPECT_EQ(make(c, {}).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kvtier::engine::testing
