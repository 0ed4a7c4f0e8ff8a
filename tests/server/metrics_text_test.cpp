// GET /metrics: parsed back as a Prometheus scraper would, checking vLLM's names, labels,
// bucket boundaries and the per-request observations.
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/metrics_text.h"
#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Scrape {
  std::map<std::string, std::string> type;  // family -> counter/gauge/histogram
  std::map<std::string, int> help_count, type_count;
  std::vector<Sample> samples;

  std::vector<Sample> named(const std::string& name) const {
    std::vector<Sample> out;
    for (const auto& s : samples) {
      if (s.name == name) out.push_back(s);
    }
    return out;
  }
  double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        match = match && it != s.labels.end() && it->second == v;
      }
      if (match) return s.value;
    }
    ADD_FAILURE() << "no sample " << name;
    return -1;
  }
};

// A strict parser for the text format: fails the test on any line it cannot read.
Scrape parse(const std::string& text) {
  Scrape scrape;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) {
      std::string rest = line.substr(7);
      scrape.help_count[rest.substr(0, rest.find(' '))]++;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      scrape.type[name] = type;
      scrape.type_count[name]++;
      continue;
    }
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        std::string key;
        while (line[i] != '=') key += line[i++];
        EXPECT_EQ(line[i + 1], '"') << line;
        i += 2;
        std::string value;
        while (line[i] != '"') {
          if (line[i] == '\\') {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;
        s.labels[key] = value;
        if (line[i] == ',') ++i;
      }
      ++i;
    }
    EXPECT_EQ(line[i], ' ') << line;
    std::string number = line.substr(i + 1);
    s.value = number == "+Inf" ? INFINITY : std::stod(number);
    scrape.samples.push_back(std::move(s));
  }
  return scrape;
}

std::string family_of(const Scrape& scrape, const std::string& sample) {
  for (const char* suffix : {"_bucket", "_count", "_sum", "_total", ""}) {
    std::string s = suffix;
    if (!s.empty() && (sample.size() <= s.size() || !sample.ends_with(s))) continue;
    std::string base = sample.substr(0, sample.size() - s.size());
    if (scrape.type.count(base)) return base;
  }
  return {};
}

std::string drive_some_requests(ApiHarness& h) {
  h.post("/v1/completions", {{"prompt", "hello"}, {"max_tokens", 4}, {"stream", true}});
  h.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 9}, {"stop", "c"}});
  auto r = h.run("GET", "/metrics", "");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/plain; version=0.0.4; charset=utf-8");
  return r->body;
}

TEST(MetricsText, EverySampleBelongsToADeclaredFamily) {
  ApiHarness h;
  Scrape scrape = parse(drive_some_requests(h));
  ASSERT_FALSE(scrape.samples.empty());
  for (const auto& [name, count] : scrape.type_count) {
    EXPECT_EQ(count, 1) << name;
    EXPECT_EQ(scrape.help_count[name], 1) << name;
  }
  for (const auto& s : scrape.samples) {
    std::string family = family_of(scrape, s.name);
    ASSERT_FALSE(family.empty()) << s.name;
    const std::string& type = scrape.type[family];
    if (type == "counter") {
      EXPECT_TRUE(s.name.ends_with("_total")) << s.name;
    }
    if (type == "histogram") {
      EXPECT_TRUE(s.name.ends_with("_bucket") || s.name.ends_with("_count") ||
                  s.name.ends_with("_sum"))
          << s.name;
    }
    if (family.rfind("vllm:", 0) == 0 && family != "vllm:cache_config_info") {
      EXPECT_EQ(s.labels.at("model_name"), "fake-model") << s.name;
      EXPECT_EQ(s.labels.at("engine"), "0") << s.name;
    }
  }
}

TEST(MetricsText, HasVllmNamesAndTypes) {
  ApiHarness h;
  Scrape scrape = parse(drive_some_requests(h));
  std::map<std::string, std::string> expected = {
      {"vllm:num_requests_running", "gauge"},
      {"vllm:num_requests_waiting", "gauge"},
      {"vllm:kv_cache_usage_perc", "gauge"},
      {"vllm:prefix_cache_queries", "counter"},
      {"vllm:prefix_cache_hits", "counter"},
      {"vllm:external_prefix_cache_queries", "counter"},
      {"vllm:external_prefix_cache_hits", "counter"},
      {"vllm:num_preemptions", "counter"},
      {"vllm:prompt_tokens", "counter"},
      {"vllm:generation_tokens", "counter"},
      {"vllm:request_success", "counter"},
      {"vllm:time_to_first_token_seconds", "histogram"},
      {"vllm:inter_token_latency_seconds", "histogram"},
      {"vllm:request_time_per_output_token_seconds", "histogram"},
      {"vllm:e2e_request_latency_seconds", "histogram"},
      {"vllm:request_queue_time_seconds", "histogram"},
      {"vllm:request_prefill_time_seconds", "histogram"},
      {"vllm:request_decode_time_seconds", "histogram"},
      {"vllm:request_prompt_tokens", "histogram"},
      {"vllm:request_generation_tokens", "histogram"},
      {"vllm:iteration_tokens_total", "histogram"},
      {"vllm:cache_config_info", "gauge"},
      {"vllm:kv_offload_total_bytes", "counter"},
      {"vllm:kv_offload_total_time", "counter"},
      {"vllm:kv_offload_size", "histogram"},
      {"kvtier:cpu_cache_usage_perc", "gauge"},
      {"kvtier:num_requests_loading", "gauge"},
  };
  for (const auto& [name, type] : expected) {
    ASSERT_TRUE(scrape.type.count(name)) << name;
    EXPECT_EQ(scrape.type[name], type) << name;
  }
  std::set<std::string> reasons;
  for (const auto& s : scrape.named("vllm:request_success_total")) {
    reasons.insert(s.labels.at("finished_reason"));
  }
  EXPECT_EQ(reasons, (std::set<std::string>{"stop", "length", "abort", "error"}));
  EXPECT_EQ(scrape.value("vllm:kv_offload_total_bytes_total", {{"transfer_type", "GPU_to_CPU"}}),
            4096);
  EXPECT_EQ(scrape.value("vllm:kv_offload_total_bytes_total", {{"transfer_type", "CPU_to_GPU"}}),
            0);
  // One observation per completed transfer, from the engine's histogram.
  EXPECT_EQ(scrape.value("vllm:kv_offload_size_count", {{"transfer_type", "GPU_to_CPU"}}), 2);
  EXPECT_EQ(scrape.value("vllm:kv_offload_size_sum", {{"transfer_type", "GPU_to_CPU"}}), 4096);
  EXPECT_EQ(scrape.value("vllm:kv_offload_size_bucket",
                         {{"transfer_type", "GPU_to_CPU"}, {"le", "1000000.0"}}),
            2);
  // A direction with no transfers still has vLLM's buckets, all empty.
  std::vector<std::string> les;
  for (const auto& s : scrape.named("vllm:kv_offload_size_bucket")) {
    if (s.labels.at("transfer_type") != "CPU_to_GPU") continue;
    les.push_back(s.labels.at("le"));
    EXPECT_EQ(s.value, 0) << s.labels.at("le");
  }
  EXPECT_EQ(les, (std::vector<std::string>{"1000000.0", "5000000.0", "10000000.0", "20000000.0",
                                           "40000000.0", "60000000.0", "80000000.0",
                                           "100000000.0", "150000000.0", "200000000.0", "+Inf"}));
}

TEST(MetricsText, HistogramsUseVllmBucketsAndAreCumulative) {
  ApiHarness h;
  Scrape scrape = parse(drive_some_requests(h));
  auto les = [&](const std::string& name) {
    std::vector<std::string> out;
    std::vector<double> counts;
    for (const auto& s : scrape.named(name + "_bucket")) {
      out.push_back(s.labels.at("le"));
      counts.push_back(s.value);
    }
    for (size_t i = 1; i < counts.size(); ++i) {
      EXPECT_GE(counts[i], counts[i - 1]) << name;
    }
    EXPECT_EQ(out.back(), "+Inf") << name;
    EXPECT_EQ(counts.back(), scrape.value(name + "_count")) << name;
    return out;
  };
  EXPECT_EQ(les("vllm:time_to_first_token_seconds"),
            (std::vector<std::string>{"0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08",
                                      "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5",
                                      "10.0", "20.0", "40.0", "80.0", "160.0", "640.0", "2560.0",
                                      "+Inf"}));
  EXPECT_EQ(les("vllm:inter_token_latency_seconds"),
            (std::vector<std::string>{"0.01", "0.025", "0.05", "0.075", "0.1", "0.15", "0.2",
                                      "0.3", "0.4", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5",
                                      "10.0", "20.0", "40.0", "80.0", "+Inf"}));
  EXPECT_EQ(les("vllm:e2e_request_latency_seconds"),
            (std::vector<std::string>{"0.3", "0.5", "0.8", "1.0", "1.5", "2.0", "2.5", "5.0",
                                      "10.0", "15.0", "20.0", "30.0", "40.0", "50.0", "60.0",
                                      "120.0", "240.0", "480.0", "960.0", "1920.0", "7680.0",
                                      "+Inf"}));
  // 1-2-5 buckets up to max_model_len (256 for the fake engine).
  EXPECT_EQ(les("vllm:request_prompt_tokens"),
            (std::vector<std::string>{"1.0", "2.0", "5.0", "10.0", "20.0", "50.0", "100.0",
                                      "200.0", "+Inf"}));
  EXPECT_EQ(les("vllm:iteration_tokens_total"),
            (std::vector<std::string>{"1.0", "8.0", "16.0", "32.0", "64.0", "128.0", "256.0",
                                      "512.0", "1024.0", "2048.0", "4096.0", "8192.0", "16384.0",
                                      "+Inf"}));
  les("vllm:request_queue_time_seconds");
  les("vllm:request_prefill_time_seconds");
  les("vllm:request_decode_time_seconds");
  les("vllm:request_generation_tokens");
  les("vllm:request_time_per_output_token_seconds");
}

TEST(MetricsText, CountsWhatTheRequestsDid) {
  ApiHarness h;
  Scrape scrape = parse(drive_some_requests(h));
  // Two requests: 4 tokens (length) and 3 tokens cut by the stop string "c" (stop).
  EXPECT_EQ(scrape.value("vllm:request_success_total", {{"finished_reason", "length"}}), 1);
  EXPECT_EQ(scrape.value("vllm:request_success_total", {{"finished_reason", "stop"}}), 1);
  EXPECT_EQ(scrape.value("vllm:request_success_total", {{"finished_reason", "abort"}}), 0);
  EXPECT_EQ(scrape.value("vllm:time_to_first_token_seconds_count"), 2);
  EXPECT_EQ(scrape.value("vllm:e2e_request_latency_seconds_count"), 2);
  EXPECT_EQ(scrape.value("vllm:inter_token_latency_seconds_count"), 3 + 2);
  EXPECT_EQ(scrape.value("vllm:request_generation_tokens_sum"), 4 + 3);
  EXPECT_EQ(scrape.value("vllm:request_prompt_tokens_sum"), 5 + 1);
  EXPECT_EQ(scrape.value("vllm:request_params_max_tokens_sum"), 4 + 9);
  EXPECT_EQ(scrape.value("vllm:prompt_tokens_total"), 6);
  EXPECT_EQ(scrape.value("vllm:generation_tokens_total"), 7);
  EXPECT_EQ(scrape.value("vllm:num_requests_running"), 0);
  EXPECT_EQ(scrape.value("vllm:kv_cache_usage_perc"), 0);
  EXPECT_EQ(scrape.value("kvtier:http_requests_in_flight"), 0);
}

TEST(MetricsText, GaugesFollowTheEngineWhileRequestsRun) {
  ApiHarness h;
  auto r = h.start("POST", "/v1/completions",
                   nlohmann::json({{"prompt", std::string(40, 'p')}, {"max_tokens", 50},
                                   {"stream", true}}).dump());
  h.engine.step();
  r->run_posted();
  Scrape running = parse(h.run("GET", "/metrics", "")->body);
  EXPECT_EQ(running.value("vllm:num_requests_running"), 1);
  EXPECT_GT(running.value("vllm:kv_cache_usage_perc"), 0);
  EXPECT_EQ(running.value("kvtier:http_requests_in_flight"), 1);
  r->drop_client();
  h.engine.step();
  r->run_posted();
  Scrape after = parse(h.run("GET", "/metrics", "")->body);
  EXPECT_EQ(after.value("vllm:num_requests_running"), 0);
  EXPECT_EQ(after.value("vllm:kv_cache_usage_perc"), 0);
  EXPECT_EQ(after.value("vllm:request_success_total", {{"finished_reason", "abort"}}), 1);
}

TEST(MetricsText, CacheConfigInfoCarriesItsLabels) {
  ApiConfig config;
  config.cache_config = {{"block_size", "16"}, {"num_gpu_blocks", "4096"},
                         {"enable_prefix_caching", "True"}};
  ApiHarness h(config);
  Scrape scrape = parse(h.run("GET", "/metrics", "")->body);
  auto info = scrape.named("vllm:cache_config_info");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].value, 1.0);
  EXPECT_EQ(info[0].labels.at("block_size"), "16");
  EXPECT_EQ(info[0].labels.at("num_gpu_blocks"), "4096");
  EXPECT_EQ(info[0].labels.at("enable_prefix_caching"), "True");
  EXPECT_EQ(info[0].labels.at("engine"), "0");
}

TEST(MetricsText, NumbersAndLabelsAreFormattedAsPrometheusClientDoes) {
  EXPECT_EQ(prometheus_number(1), "1.0");
  EXPECT_EQ(prometheus_number(0.25), "0.25");
  EXPECT_EQ(prometheus_number(0.001), "0.001");
  EXPECT_EQ(prometheus_number(2560), "2560.0");
  EXPECT_EQ(prometheus_number(INFINITY), "+Inf");
  EXPECT_EQ(prometheus_number(NAN), "NaN");
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  PrometheusWriter w;
  w.family("x", "gauge", "help");
  w.sample("x", {{"model_name", "m\"1"}, {"engine", "0"}}, 3);
  EXPECT_EQ(w.take(), "# HELP x help\n# TYPE x gauge\nx{model_name=\"m\\\"1\",engine=\"0\"} 3.0\n");
}

TEST(MetricsText, OneTwoFiveBuckets) {
  EXPECT_EQ(buckets_1_2_5(100), (std::vector<double>{1, 2, 5, 10, 20, 50, 100}));
  EXPECT_EQ(buckets_1_2_5(4), (std::vector<double>{1, 2}));
}

}  // namespace
}  // namespace kvtier::server::testing
