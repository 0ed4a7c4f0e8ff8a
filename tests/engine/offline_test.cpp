#include "engine/offline.h"

#include <gtest/gtest.h>

#include <sstream>

#include "engine/engine_test_util.h"

namespace kvtier::engine::testing {
namespace {

std::vector<OfflinePrompt> sample_prompts() {
  std::vector<OfflinePrompt> prompts;
  std::mt19937 rng(3);
  for (int i = 0; i < 12; ++i) {
    OfflinePrompt p;
    p.prompt_ids = random_prompt(rng, 3 + i * 5);
    p.sampling = greedy(2 + i % 4);
    if (i % 3 == 0) p.sampling.logprobs = 2;
    prompts.push_back(p);
  }
  prompts[5].prompt_ids.assign(300, 1);  // longer than max_model_len 256: refused
  return prompts;
}

void expect_results(const std::vector<OfflinePrompt>& prompts,
                    const std::vector<OfflineResult>& results) {
  ASSERT_EQ(results.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(results[i].prompt_ids, prompts[i].prompt_ids) << i;
    if (i == 5) {
      EXPECT_EQ(results[i].error.code(), ErrorCode::kOutOfRange);
      EXPECT_FALSE(results[i].finish_reason);
      continue;
    }
    EXPECT_TRUE(results[i].error.is_ok()) << i;
    EXPECT_EQ(int32_t(results[i].output_ids.size()), prompts[i].sampling.max_tokens) << i;
    EXPECT_EQ(results[i].finish_reason, FinishReason::kLength);
    EXPECT_EQ(results[i].logprobs.size(),
              prompts[i].sampling.logprobs ? results[i].output_ids.size() : 0u);
    // The same prompt alone gives the same tokens.
    auto alone = make_engine(small_config());
    EXPECT_TRUE(alone->submit("x", prompts[i].prompt_ids, prompts[i].sampling).is_ok());
    alone->engine->run_until_idle();
    EXPECT_EQ(alone->outputs.get("x").tokens, results[i].output_ids) << i;
  }
}

TEST(Offline, DrivenOnTheCallingThreadInInputOrder) {
  auto t = make_engine(small_config());
  auto prompts = sample_prompts();
  expect_results(prompts, generate(*t->engine, prompts));
}

TEST(Offline, OnAStartedEngine) {
  auto t = make_engine(small_config());
  t->engine->start();
  auto prompts = sample_prompts();
  expect_results(prompts, generate(*t->engine, prompts));
  EXPECT_TRUE(t->engine->shutdown(true));
}

TEST(Offline, ParsesPromptsWithSamplingParameters) {
  std::istringstream in(R"({"prompt_ids": [1, 2, 3]}

{"prompt_ids": [4], "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "top_k": 5, "seed": 11,
 "stop_token_ids": [9], "logprobs": 3, "ignore_eos": true, "cache_salt": "s"}
)");
  // The second object spans two lines: that is not JSON lines.
  auto bad = parse_prompts(in, "p.jsonl", nullptr, {});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("p.jsonl:3: not valid JSON"), std::string::npos);

  std::istringstream good(
      "{\"prompt_ids\": [1, 2, 3]}\n"
      "\n"
      "{\"prompt_ids\": [4], \"max_tokens\": 7, \"temperature\": 0.5, \"top_p\": 0.9, \"top_k\": "
      "5, "
      "\"seed\": 11, \"stop_token_ids\": [9], \"stop\": \"END\", \"logprobs\": 3, \"ignore_eos\": "
      "true, "
      "\"cache_salt\": \"s\", \"min_tokens\": 2}\n");
  SamplingParams defaults;
  defaults.max_tokens = 4;
  defaults.temperature = 0.0f;
  auto prompts = parse_prompts(good, "p.jsonl", nullptr, defaults);
  ASSERT_TRUE(prompts.has_value()) << prompts.status().to_string();
  ASSERT_EQ(prompts->size(), 2u);
  EXPECT_EQ((*prompts)[0].prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ((*prompts)[0].sampling.max_tokens, 4);
  const SamplingParams& s = (*prompts)[1].sampling;
  EXPECT_EQ(s.max_tokens, 7);
  EXPECT_FLOAT_EQ(s.temperature, 0.5f);
  EXPECT_FLOAT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 5);
  EXPECT_EQ(s.seed, 11u);
  EXPECT_EQ(s.stop_token_ids, std::vector<int32_t>{9});
  EXPECT_EQ(s.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(s.logprobs, 3);
  EXPECT_TRUE(s.ignore_eos);
  EXPECT_EQ(s.min_tokens, 2);
  EXPECT_EQ((*prompts)[1].cache_salt, "s");
}

TEST(Offline, ErrorsNameTheLineAndTheField) {
  struct Case {
    std::string text;
    std::string message;
  };
  std::vector<Case> cases = {
      {"[1, 2]", "p:1: expected a JSON object"},
      {"{}", "p:1: give exactly one of 'prompt'"},
      {R"({"prompt": "a", "prompt_ids": [1]})", "give exactly one"},
      {R"({"prompt_ids": [1, "x"]})", "field 'prompt_ids'[1] must be an integer"},
      {R"({"prompt_ids": [1], "max_tokens": "many"})",
       "field 'max_tokens' must be an integer, got \"many\""},
      {R"({"prompt_ids": [1], "temperature": true})", "field 'temperature' must be a number"},
      {R"({"prompt_ids": [1], "ignore_eos": 1})", "field 'ignore_eos' must be true or false"},
      {R"({"prompt_ids": [1], "stop": [1]})", "field 'stop'[0] must be a string"},
      {R"({"prompt_ids": [1], "temprature": 0})", "unknown field 'temprature'"},
      {R"({"prompt": "hello"})", "field 'prompt' is text but there is no tokenizer"},
      {"{\"prompt_ids\": [1]}\n{\"prompt_ids\": 5}", "p:2: field 'prompt_ids' must be a list"},
  };
  for (const auto& c : cases) {
    std::istringstream in(c.text);
    auto r = parse_prompts(in, "p", nullptr, {});
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << r.error().message();
  }
  EXPECT_EQ(read_prompts_file("/nonexistent/prompts.jsonl", nullptr, {}).status().code(),
            ErrorCode::kNotFound);
}

TEST(Offline, JsonResultLayout) {
  OfflineResult r;
  r.prompt_ids = {1, 2};
  r.output_ids = {3};
  r.output_text = "x";
  r.finish_reason = FinishReason::kLength;
  r.cached_tokens = 1;
  TokenLogprob lp;
  lp.token_id = 3;
  lp.logprob = -0.5f;
  lp.top = {{3, -0.5f}, {4, -1.5f}};
  r.logprobs.push_back(lp);
  auto j = result_to_json(r, true);
  EXPECT_EQ(j.dump(),
            R"({"prompt_ids":[1,2],"output_ids":[3],"output_text":"x","finish_reason":"length",)"
            R"("stop_reason":null,"cached_tokens":1,"logprobs":[{"token_id":3,"logprob":-0.5,)"
            R"("ids":[3,4],"logprobs":[-0.5,-1.5]}]})");
  r.error = invalid_argument("bad");
  EXPECT_FALSE(result_to_json(r, false).contains("logprobs"));
  EXPECT_EQ(result_to_json(r, false)["error"], "invalid_argument: bad");
}

}  // namespace
}  // namespace kvtier::engine::testing
