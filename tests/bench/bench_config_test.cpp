#include "bench/bench_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench/bench_cli.h"

namespace kvtier::bench {
namespace {

// Parses argv as `kvtier bench` would (without the program and subcommand names).
Expected<BenchConfig> parse(std::vector<std::string> args) {
  CLI::App app;
  RawBenchArgs raw;
  add_bench_options(app, raw);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return invalid_argument("{}", e.what());
  }
  return make_bench_config(raw);
}

TEST(BenchConfig, TheSeedCommandLineParses) {
  // The seed report's command, verbatim after `guidellm benchmark run`.
  auto c =
      parse({"--target=http://llm-d-inference-gateway-istio:80", "--rate-type=concurrent",
             "--rate=5,25,50,100,250", "--max-seconds=30", "--random-seed=889",
             R"(--data={"prompt_tokens":128,"output_tokens":128,"prefix_tokens":10000,"turns":5})",
             "--sample-requests=0", "--outputs=/tmp/benchmark.json"});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->target.host, "llm-d-inference-gateway-istio");
  EXPECT_EQ(c->target.port, "80");
  EXPECT_EQ(c->profile, ProfileKind::kConcurrent);
  EXPECT_EQ(c->rates, (std::vector<double>{5, 25, 50, 100, 250}));
  EXPECT_EQ(*c->max_seconds, 30.0);
  EXPECT_FALSE(c->max_requests.has_value());
  EXPECT_EQ(c->random_seed, 889);
  EXPECT_EQ(c->data.prompt.average, 128);
  EXPECT_EQ(c->data.output->average, 128);
  EXPECT_EQ(c->data.turns, 5);
  ASSERT_EQ(c->data.prefix_buckets.size(), 1u);
  EXPECT_EQ(c->data.prefix_buckets[0].prefix_tokens, 10000);
  EXPECT_EQ(c->data.prefix_buckets[0].prefix_count, 1);
  EXPECT_EQ(*c->sample_requests, 0);
  ASSERT_EQ(c->outputs.size(), 1u);
  EXPECT_EQ(c->outputs[0].kind, OutputKind::kJson);
  EXPECT_EQ(c->outputs[0].path, "/tmp/benchmark.json");
  EXPECT_EQ(c->request_format, RequestFormat::kChatCompletions);
  EXPECT_TRUE(c->warmup.empty());
}

TEST(BenchConfig, GuidellmSpellingsAndDefaults) {
  auto c = parse(
      {"--target",
       "http://localhost:8000/v1",
       "--profile",
       "sweep",
       "--data",
       "prompt_tokens=256,output_tokens=128",
       "--max-requests",
       "50",
       "--request-type",
       "text_completions",
       "--warmup-percent",
       "0.1",
       "--cooldown",
       "5",
       "--output-dir",
       "/tmp/out",
       "--outputs",
       "json",
       "--outputs",
       "run.csv",
       "--backend-args",
       R"({"api_key":"k","timeout":30,"headers":{"X-A":"b"},"extras":{"body":{"temperature":0}}})"});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->profile, ProfileKind::kSweep);
  EXPECT_EQ(c->request_format, RequestFormat::kTextCompletions);
  EXPECT_EQ(*c->warmup.percent, 0.1);
  EXPECT_EQ(*c->cooldown.value, 5.0);
  ASSERT_EQ(c->outputs.size(), 2u);
  EXPECT_EQ(c->outputs[0].path, "/tmp/out/benchmarks.json");
  EXPECT_EQ(c->outputs[1].path, "/tmp/out/run.csv");
  EXPECT_EQ(c->outputs[1].kind, OutputKind::kCsv);
  EXPECT_EQ(c->http.headers.at("Authorization"), "Bearer k");
  EXPECT_EQ(c->http.headers.at("X-A"), "b");
  EXPECT_EQ(*c->http.read_timeout_s, 30.0);
  EXPECT_EQ(c->extra_body["temperature"], 0);
  EXPECT_EQ(c->random_seed, 42);
  EXPECT_EQ(c->args_json()["backend_kwargs"]["api_key"], "***");

  auto legacy =
      parse({"--target", "http://h:1", "--rate-type", "constant", "--rate", "2", "--rate", "4",
             "--data", R"({"prompt_tokens":8})", "--max-seconds", "1", "--output-path",
             "/tmp/x/legacy.json", "--request-format", "/v1/chat/completions"});
  ASSERT_TRUE(legacy.has_value()) << legacy.error().message();
  EXPECT_EQ(legacy->rates, (std::vector<double>{2, 4}));
  EXPECT_EQ(legacy->outputs[0].path, "/tmp/x/legacy.json");
  EXPECT_FALSE(legacy->data.output.has_value());
}

void expect_error(const std::vector<std::string>& args, const std::string& needle) {
  auto c = parse(args);
  ASSERT_FALSE(c.has_value()) << "accepted: " << needle;
  EXPECT_NE(c.error().message().find(needle), std::string::npos) << c.error().message();
}

TEST(BenchConfig, BadValuesNameTheFlagAndKey) {
  const std::vector<std::string> base = {"--target", "http://h:1", "--max-seconds",
                                         "1",        "--profile",  "synchronous"};
  auto with = [&](std::vector<std::string> extra) {
    auto all = base;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  expect_error(with({"--data", R"({"prompt_tokens":128)"}), "malformed JSON");
  expect_error(with({"--data", "prompt_tokens=abc"}), "prompt_tokens must be an integer");
  expect_error(with({"--data", "prompt_tokens=0"}), "prompt_tokens must be >= 1");
  expect_error(with({"--data", R"({"output_tokens":5})"}), "prompt_tokens is required");
  expect_error(with({"--data", "no_such_dataset_name"}), "--data 'no_such_dataset_name'");
  expect_error(with({"--data", "prompt_tokens=5", "--rate", "3"}), "--rate");
  expect_error(with({"--data", "prompt_tokens=5", "--backend-kwargs", R"({"apikey":"x"})"}),
               "unknown key 'apikey'");
  expect_error(with({"--data", "prompt_tokens=5", "--backend-kwargs", R"({"timeout":"soon"})"}),
               "timeout must be a number");
  expect_error(with({"--data", "prompt_tokens=5", "--warmup", "-1"}), "--warmup");
  expect_error(with({"--data", "prompt_tokens=5", "--outputs", "report.pdf"}), "report.pdf");
  expect_error(with({"--data", "prompt_tokens=5", "--request-type", "embeddings"}),
               "--request-type 'embeddings'");
  expect_error(with({"--data", "prompt_tokens=5", "--max-concurrency", "4"}), "--max-concurrency");
  expect_error({"--target", "http://h:1", "--profile", "concurrent", "--data", "prompt_tokens=5",
                "--max-seconds", "1"},
               "--profile concurrent needs the concurrency levels");
  expect_error({"--target", "http://h:1", "--profile", "concurrent", "--rate", "2.5", "--data",
                "prompt_tokens=5", "--max-seconds", "1"},
               "whole number");
  expect_error({"--target", "http://h:1", "--profile", "burst", "--data", "prompt_tokens=5",
                "--max-seconds", "1"},
               "burst");
  expect_error({"--target", "http://h:1", "--data", "prompt_tokens=5"}, "--max-seconds");
  expect_error({"--data", "prompt_tokens=5", "--max-seconds", "1"}, "--target");
  expect_error({"--target", "http://h:1", "--max-seconds", "1"}, "--data");
  expect_error(with({"--data", "prompt_tokens=5", "--no-such-flag", "1"}), "--no-such-flag");
}

// GuideLLM >= 0.5: throughput needs --rate, its concurrency cap (ThroughputProfile.resolve_args).
TEST(BenchConfig, ThroughputTakesRateAsItsConcurrencyCap) {
  const std::vector<std::string> base = {"--target", "http://h:1",     "--max-seconds",
                                         "1",        "--rate-type",    "throughput",
                                         "--data",   "prompt_tokens=5"};
  auto with = [&](std::vector<std::string> extra) {
    auto all = base;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  auto c = parse(with({"--rate", "64"}));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->profile, ProfileKind::kThroughput);
  EXPECT_EQ(c->max_concurrency, 64);
  EXPECT_TRUE(c->warnings.empty());
  EXPECT_EQ(c->args_json()["max_concurrency"], 64);

  expect_error(base, "--profile throughput needs the concurrency cap");
  expect_error(with({"--rate", "2.5"}), "whole number");
  expect_error(with({"--rate", "0"}), "whole number");
  expect_error(with({"--rate", "8", "--max-concurrency", "4"}), "--max-concurrency");

  // GuideLLM uses the first value; kvtier says it ignored the rest.
  auto several = parse(with({"--rate", "16,32"}));
  ASSERT_TRUE(several.has_value()) << several.error().message();
  EXPECT_EQ(several->max_concurrency, 16);
  ASSERT_EQ(several->warnings.size(), 1u);
  EXPECT_NE(several->warnings[0].find("first value 16"), std::string::npos);
}

// GuideLLM's synthetic data config allows (and ignores) extra keys; kvtier warns once, naming
// every one of them, and still rejects a known key with a bad value.
TEST(BenchConfig, UnknownDataKeysAreIgnoredWithOneWarning) {
  auto c = parse({"--target", "http://h:1", "--max-seconds", "1", "--profile", "synchronous",
                  "--data", R"({"prompt_tokens":128,"prefix_tokns":5,"samples":10})"});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->data.prompt.average, 128);
  EXPECT_TRUE(c->data.prefix_buckets.empty());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("'prefix_tokns'"), std::string::npos) << c->warnings[0];
  EXPECT_NE(c->warnings[0].find("'samples'"), std::string::npos) << c->warnings[0];
  EXPECT_FALSE(c->data.to_json().contains("prefix_tokns"));

  auto clean = parse({"--target", "http://h:1", "--max-seconds", "1", "--profile", "synchronous",
                      "--data", "prompt_tokens=8,turns=2"});
  ASSERT_TRUE(clean.has_value());
  EXPECT_TRUE(clean->warnings.empty());

  expect_error({"--target", "http://h:1", "--max-seconds", "1", "--profile", "synchronous",
                "--data", R"({"prompt_tokens":128,"turns":"many","extra":1})"},
               "turns must be an integer");
}

TEST(BenchConfig, DataFromAJsonFileAndFromTheCliReadYaml) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("kvtier_bench_data_file_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "data.json";
  {
    std::ofstream out(file);
    out << R"({"prompt_tokens": 64, "output_tokens": 32, "turns": 3, "note": "x"})";
  }
  auto c = parse({"--target", "http://h:1", "--max-seconds", "1", "--profile", "synchronous",
                  "--data", file.string()});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->data.prompt.average, 64);
  EXPECT_EQ(c->data.output->average, 32);
  EXPECT_EQ(c->data.turns, 3);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("'note'"), std::string::npos);
  EXPECT_EQ(c->args_json()["data"][0], file.string());

  // A YAML file arrives already read (data_json); errors still name the file.
  RawBenchArgs raw;
  raw.target = "http://h:1";
  raw.max_seconds = 1;
  raw.profile = "synchronous";
  raw.data = {"/cfg/data.yaml"};
  raw.data_json =
      nlohmann::json{{"prompt_tokens", 16}, {"prefix_buckets", {{{"prefix_tokens", 4}}}}};
  auto y = make_bench_config(raw);
  ASSERT_TRUE(y.has_value()) << y.error().message();
  EXPECT_EQ(y->data.prompt.average, 16);
  ASSERT_EQ(y->data.prefix_buckets.size(), 1u);
  EXPECT_EQ(y->data.prefix_buckets[0].prefix_tokens, 4);
  raw.data_json = nlohmann::json{{"output_tokens", 16}};
  auto bad = make_bench_config(raw);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("/cfg/data.yaml"), std::string::npos);
  EXPECT_NE(bad.error().message().find("prompt_tokens is required"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(BenchConfig, RampupAndMaxErrorRateFollowGuidellm) {
  const std::vector<std::string> base = {"--target", "http://h:1", "--max-seconds",
                                         "10",       "--data",     "prompt_tokens=5"};
  auto with = [&](std::vector<std::string> extra) {
    auto all = base;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  auto c = parse(with(
      {"--profile", "concurrent", "--rate", "4", "--rampup", "2.5", "--max-error-rate", "0.05"}));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->rampup, 2.5);
  EXPECT_EQ(*c->max_error_rate, 0.05);
  EXPECT_EQ(c->args_json()["rampup"], 2.5);
  EXPECT_EQ(c->args_json()["max_error_rate"], 0.05);
  EXPECT_TRUE(parse(with({"--profile", "constant", "--rate", "4", "--rampup", "1"})).has_value());
  EXPECT_TRUE(parse(with({"--profile", "throughput", "--rate", "4", "--rampup", "1"})).has_value());
  EXPECT_TRUE(parse(with({"--profile", "sweep", "--rampup", "1"})).has_value());

  // GuideLLM's ErrorRate is strictly between 0 and 1.
  expect_error(with({"--profile", "synchronous", "--max-error-rate", "1"}), "--max-error-rate 1");
  expect_error(with({"--profile", "synchronous", "--max-error-rate", "0"}), "--max-error-rate 0");
  expect_error(with({"--profile", "synchronous", "--max-error-rate", "5"}), "between 0 and 1");
  // Poisson and synchronous strategies take no rampup in GuideLLM.
  expect_error(with({"--profile", "poisson", "--rate", "2", "--rampup", "1"}), "--rampup");
  expect_error(with({"--profile", "synchronous", "--rampup", "1"}), "--rampup");
  expect_error(with({"--profile", "concurrent", "--rate", "2", "--rampup", "-1"}), "--rampup -1");
  expect_error(with({"--profile", "concurrent", "--rate", "2", "--rampup", "10"}),
               "shorter than --max-seconds");
}

TEST(BenchConfig, OutputsIncludeHtmlAndYaml) {
  auto c = parse({"--target", "http://h:1", "--max-seconds", "1", "--profile", "synchronous",
                  "--data", "prompt_tokens=5", "--output-dir", "/tmp/o", "--outputs",
                  "json,html,yaml", "--outputs", "page.html", "--outputs", "run.yml"});
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_EQ(c->outputs.size(), 5u);
  EXPECT_EQ(c->outputs[1].kind, OutputKind::kHtml);
  EXPECT_EQ(c->outputs[1].path, "/tmp/o/benchmarks.html");
  EXPECT_EQ(c->outputs[2].kind, OutputKind::kYaml);
  EXPECT_EQ(c->outputs[2].path, "/tmp/o/benchmarks.yaml");
  EXPECT_EQ(c->outputs[3].kind, OutputKind::kHtml);
  EXPECT_EQ(c->outputs[3].path, "/tmp/o/page.html");
  EXPECT_EQ(c->outputs[4].kind, OutputKind::kYaml);
}

}  // namespace
}  // namespace kvtier::bench
