// Two vLLM 0.11 histograms that restate what kvtier measures: vllm:time_per_output_token_seconds
// (the deprecated name of the inter-token latency, observed with every gap) and
// vllm:request_max_num_generation_tokens (each request's largest generation over its n samples;
// n is 1 here). Checked against the sibling histograms they must equal.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

// The sample lines of a family (name_bucket{...}, name_count{...}, name_sum{...}) keyed by what
// follows the family name, and its HELP and TYPE text.
struct Family {
  std::string help, type;
  std::map<std::string, std::string> samples;
};

Family family(const std::string& text, const std::string& name) {
  Family f;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP " + name + " ", 0) == 0) {
      f.help = line.substr(8 + name.size());
    } else if (line.rfind("# TYPE " + name + " ", 0) == 0) {
      f.type = line.substr(8 + name.size());
    } else if (line.rfind(name + "_", 0) == 0) {
      std::string rest = line.substr(name.size());
      size_t space = rest.rfind(' ');
      f.samples[rest.substr(0, space)] = rest.substr(space + 1);
    }
  }
  return f;
}

std::string scrape_after_requests(ApiHarness& h) {
  EXPECT_EQ(
      h.post("/v1/completions", {{"prompt", "hello"}, {"max_tokens", 4}, {"stream", true}})->status,
      200);
  EXPECT_EQ(h.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 9}, {"stop", "c"}})->status,
            200);
  return h.run("GET", "/metrics", "")->body;
}

TEST(MetricsVllmAliases, TimePerOutputTokenIsTheInterTokenLatency) {
  ApiHarness h;
  std::string text = scrape_after_requests(h);
  Family tpot = family(text, "vllm:time_per_output_token_seconds");
  Family itl = family(text, "vllm:inter_token_latency_seconds");
  EXPECT_EQ(tpot.type, "histogram");
  EXPECT_EQ(tpot.help,
            "Histogram of time per output token in seconds."
            "DEPRECATED: Use vllm:inter_token_latency_seconds instead.");
  ASSERT_FALSE(itl.samples.empty());
  EXPECT_EQ(tpot.samples, itl.samples);
  // 4 tokens and 3 tokens: 3 + 2 gaps.
  EXPECT_EQ(tpot.samples.at("_count{model_name=\"fake-model\",engine=\"0\"}"), "5.0");
  EXPECT_EQ(tpot.samples.count("_bucket{model_name=\"fake-model\",engine=\"0\",le=\"0.075\"}"), 1u);
}

TEST(MetricsVllmAliases, MaxNumGenerationTokensObservesEachRequestsGeneration) {
  ApiHarness h;
  std::string text = scrape_after_requests(h);
  Family max_gen = family(text, "vllm:request_max_num_generation_tokens");
  EXPECT_EQ(max_gen.type, "histogram");
  EXPECT_EQ(max_gen.help, "Histogram of maximum number of requested generation tokens.");
  const std::string labels = "{model_name=\"fake-model\",engine=\"0\"}";
  EXPECT_EQ(max_gen.samples.at("_count" + labels), "2.0");
  EXPECT_EQ(max_gen.samples.at("_sum" + labels), "7.0");  // 4 + 3 generated (not 4 + 9 asked)
  // 1-2-5 buckets up to max_model_len (256 for the fake engine): 3 and 4 tokens fall in le=5.
  auto bucket = [&](const char* le) {
    return max_gen.samples.at("_bucket{model_name=\"fake-model\",engine=\"0\",le=\"" +
                              std::string(le) + "\"}");
  };
  EXPECT_EQ(bucket("2.0"), "0.0");
  EXPECT_EQ(bucket("5.0"), "2.0");
  EXPECT_EQ(bucket("200.0"), "2.0");
  EXPECT_EQ(bucket("+Inf"), "2.0");
  EXPECT_EQ(max_gen.samples.count("_bucket{model_name=\"fake-model\",engine=\"0\",le=\"500.0\"}"),
            0u);
  EXPECT_EQ(max_gen.samples, family(text, "vllm:request_generation_tokens").samples);
}

}  // namespace
}  // namespace kvtier::server::testing
