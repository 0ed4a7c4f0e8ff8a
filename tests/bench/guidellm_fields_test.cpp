// benchmarks.json carries what GuideLLM v0.6's own loader reads (GenerativeBenchmark):
// scheduler_state, scheduler_metrics with its *_avg delays, the per-iteration token
// distributions and the text/image/video/audio summaries; and the HTML and YAML outputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/bench_session.h"
#include "bench/scripted_server.h"
#include "bench/yaml_writer.h"
#include "test_support.h"

namespace kvtier::bench {
namespace {

using testing::fresh_temp_dir;
using testing::qwen3;

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One throughput benchmark of 6 single-turn requests, 8 output tokens in 4 chunks of 2.
struct Run {
  std::unique_ptr<ScriptedServer> server;
  BenchConfig config;
  BenchReport report;
};

Run run_throughput(const std::filesystem::path& dir, std::vector<std::string> outputs) {
  Run run;
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json& body, int64_t) {
    ScriptedReply r;
    r.itl_s = 0.002;
    r.tokens_per_chunk = 2;
    r.prompt_tokens = ScriptedServer::count_prompt_words(body);
    return r;
  };
  run.server = std::move(ScriptedServer::start(options)).value();
  RawBenchArgs raw;
  raw.target = run.server->url();
  raw.data = {R"({"prompt_tokens":16,"output_tokens":8})"};
  raw.profile = "throughput";
  raw.rate = {"3"};
  raw.max_requests = 6;
  raw.output_dir = dir.string();
  raw.outputs = std::move(outputs);
  raw.io_threads = 1;
  run.config = std::move(make_bench_config(raw)).value();
  auto info = probe_server(run.config);
  EXPECT_TRUE(info.has_value());
  auto report = run_bench(run.config, *info, qwen3(), "qwen3", SessionHooks{});
  EXPECT_TRUE(report.has_value()) << report.error().message();
  run.report = std::move(report).value();
  return run;
}

TEST(GuidellmFields, SchedulerStateAndMetricsAverages) {
  const auto dir = fresh_temp_dir("guidellm_fields");
  auto run = run_throughput(dir, {"json"});
  ASSERT_TRUE(write_outputs(run.report).is_ok());
  const auto json = nlohmann::json::parse(read_all(dir / "benchmarks.json"));
  const auto& b = json["benchmarks"][0];
  EXPECT_EQ(b["config"]["strategy"]["type_"], "throughput");
  EXPECT_EQ(b["config"]["strategy"]["max_concurrency"], 3);

  const auto& state = b["scheduler_state"];
  EXPECT_EQ(state["processed_requests"], 6);
  EXPECT_EQ(state["successful_requests"], 6);
  EXPECT_EQ(state["errored_requests"], 0);
  EXPECT_EQ(state["cancelled_requests"], 0);
  EXPECT_EQ(state["num_processes"], 1);
  EXPECT_GE(state["end_time"].get<double>(), state["start_time"].get<double>());
  EXPECT_GE(state["end_processing_time"].get<double>(), state["end_queuing_time"].get<double>());
  EXPECT_EQ(state["end_queuing_constraints"]["max_requests"]["request_processing"], "stop_local");

  const auto& sm = b["scheduler_metrics"];
  EXPECT_EQ(sm["requests_made"]["total"], 6);
  for (const char* key :
       {"queued_time_avg", "resolve_start_delay_avg", "resolve_targeted_start_delay_avg",
        "request_start_delay_avg", "request_targeted_start_delay_avg", "request_time_avg",
        "resolve_end_delay_avg", "resolve_time_avg", "finalized_delay_avg",
        "processed_delay_avg"}) {
    ASSERT_TRUE(sm[key].is_number()) << key;
    EXPECT_GE(sm[key].get<double>(), 0.0) << key;  // -1 would mean "no requests"
  }
  // The request's own time is the latency; resolving it spans at least that.
  const double latency = b["metrics"]["request_latency"]["successful"]["mean"];
  EXPECT_NEAR(sm["request_time_avg"].get<double>(), latency, 1e-9);
  EXPECT_GE(sm["resolve_time_avg"].get<double>(), sm["request_time_avg"].get<double>());
  EXPECT_GT(sm["request_time_avg"].get<double>(), 0.0);

  const auto& r = b["requests"]["successful"][0];
  EXPECT_GE(r["info"]["timings"]["finalized"].get<double>(),
            r["info"]["timings"]["request_end"].get<double>());
  EXPECT_LE(r["info"]["timings"]["resolve_start"].get<double>(),
            r["info"]["timings"]["request_start"].get<double>());
  std::filesystem::remove_all(dir);
}

TEST(GuidellmFields, PerIterationAndModalitySummaries) {
  const auto dir = fresh_temp_dir("guidellm_modalities");
  auto run = run_throughput(dir, {"json"});
  ASSERT_TRUE(write_outputs(run.report).is_ok());
  const auto json = nlohmann::json::parse(read_all(dir / "benchmarks.json"));
  const auto& m = json["benchmarks"][0]["metrics"];

  // 8 tokens in 4 chunks of 2: GuideLLM counts the first chunk as 1 token and spreads the
  // other 7 over the 3 later chunks.
  const auto& r = json["benchmarks"][0]["requests"]["successful"][0];
  EXPECT_EQ(r["output_tokens"], 8);
  EXPECT_EQ(r["info"]["timings"]["token_iterations"], 4);
  EXPECT_DOUBLE_EQ(r["output_tokens_per_iteration"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(r["iter_tokens_per_iteration"].get<double>(), 7.0 / 3.0);
  const auto& per_iter = m["output_tokens_per_iteration"]["successful"];
  EXPECT_EQ(per_iter["count"], 24);  // 6 requests x 4 chunks
  EXPECT_DOUBLE_EQ(per_iter["min"].get<double>(), 1.0);
  EXPECT_NEAR(per_iter["max"].get<double>(), 7.0 / 3.0, 1e-9);
  EXPECT_NEAR(per_iter["total_sum"].get<double>(), 6 * 8.0, 1e-9);
  const auto& iter = m["iter_tokens_per_iteration"]["successful"];
  EXPECT_EQ(iter["count"], 18);
  EXPECT_NEAR(iter["mean"].get<double>(), 7.0 / 3.0, 1e-9);

  const auto& tokens = m["text"]["tokens"];
  EXPECT_DOUBLE_EQ(tokens["output"]["successful"]["mean"].get<double>(), 8.0);
  EXPECT_EQ(tokens["output"]["successful"]["count"], 6);
  EXPECT_GT(tokens["input"]["successful"]["mean"].get<double>(), 0.0);
  EXPECT_NEAR(tokens["total"]["successful"]["total_sum"].get<double>(),
              tokens["input"]["successful"]["total_sum"].get<double>() + 48.0, 1e-9);
  EXPECT_GT(tokens["output_per_second"]["successful"]["mean"].get<double>(), 0.0);
  EXPECT_GT(tokens["output_concurrency"]["successful"]["max"].get<double>(), 0.0);
  // The scripted reply is "tok " per token: 8 words, 32 characters. Prompt text is not kept,
  // so the input side (and so the total) is null, as GuideLLM leaves a side without values.
  EXPECT_DOUBLE_EQ(m["text"]["words"]["output"]["successful"]["mean"].get<double>(), 8.0);
  EXPECT_DOUBLE_EQ(m["text"]["characters"]["output"]["successful"]["mean"].get<double>(), 32.0);
  EXPECT_TRUE(m["text"]["words"]["input"].is_null());
  EXPECT_TRUE(m["text"]["words"]["total"].is_null());
  EXPECT_EQ(r["output_metrics"]["text_words"], 8);
  for (const char* modality : {"image", "video", "audio"}) {
    ASSERT_TRUE(m[modality].is_object()) << modality;
    EXPECT_TRUE(m[modality]["tokens"].is_null()) << modality;
  }
  std::filesystem::remove_all(dir);
}

TEST(GuidellmFields, HtmlPagesAreRenderedFromTheWrittenJson) {
  const auto dir = fresh_temp_dir("guidellm_html");
  auto run = run_throughput(dir, {"json", "html", "other.html"});
  std::vector<std::pair<std::string, std::string>> calls;
  auto writer = [&](const std::filesystem::path& json, const std::filesystem::path& html) {
    // The JSON is complete when the page is made from it.
    auto parsed = nlohmann::json::parse(read_all(json), nullptr, false);
    EXPECT_FALSE(parsed.is_discarded());
    EXPECT_EQ(parsed["benchmarks"].size(), 1u);
    calls.emplace_back(json.string(), html.string());
    std::ofstream(html) << "<html>" << parsed["benchmarks"].size() << "</html>";
    return Status::ok();
  };
  ASSERT_TRUE(write_outputs(run.report, writer).is_ok());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].first, (dir / "benchmarks.json").string());
  EXPECT_EQ(calls[0].second, (dir / "benchmarks.html").string());
  EXPECT_EQ(calls[1].second, (dir / "other.html").string());
  EXPECT_EQ(read_all(dir / "benchmarks.html"), "<html>1</html>");

  // Without a JSON output the page comes from a hidden JSON file that is removed afterwards.
  const auto only_html = fresh_temp_dir("guidellm_html_only");
  run.report.config.outputs = {{OutputKind::kHtml, only_html / "benchmarks.html"}};
  calls.clear();
  ASSERT_TRUE(write_outputs(run.report, writer).is_ok());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_NE(calls[0].first, (only_html / "benchmarks.json").string());
  EXPECT_TRUE(std::filesystem::exists(only_html / "benchmarks.html"));
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(only_html)) ++files;
  EXPECT_EQ(files, 1u);

  // A writer's error names the page and fails the run's output step.
  auto failing = [](const std::filesystem::path&, const std::filesystem::path& html) {
    return invalid_argument("{}: cannot render", html.string());
  };
  const Status s = write_outputs(run.report, failing);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("benchmarks.html: cannot render"), std::string::npos);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(only_html);
}

TEST(GuidellmFields, YamlOutputHoldsTheSameDocument) {
  std::stringstream out;
  write_yaml(nlohmann::json::parse(R"({"metadata":{"version":1,"state":"finished"},
      "args":{"rate":[5,25],"model":null,"data":["a: b"],"empty":{},"none":[]},
      "benchmarks":[{"id_":"x","metrics":{"p":{"mean":0.5}}},{"true":true}]})"),
             out);
  EXPECT_EQ(out.str(),
            "---\n"
            "args:\n"
            "  data:\n"
            "    - \"a: b\"\n"
            "  empty: {}\n"
            "  model: null\n"
            "  none: []\n"
            "  rate:\n"
            "    - 5\n"
            "    - 25\n"
            "benchmarks:\n"
            "  -\n"
            "    id_: \"x\"\n"
            "    metrics:\n"
            "      p:\n"
            "        mean: 0.5\n"
            "  -\n"
            "    \"true\": true\n"
            "metadata:\n"
            "  state: \"finished\"\n"
            "  version: 1\n");

  const auto dir = fresh_temp_dir("guidellm_yaml");
  auto run = run_throughput(dir, {"yaml"});
  ASSERT_TRUE(write_outputs(run.report).is_ok());
  const std::string yaml = read_all(dir / "benchmarks.yaml");
  EXPECT_TRUE(yaml.starts_with("---\n")) << yaml.substr(0, 200);
  EXPECT_NE(yaml.find("\nbenchmarks:\n  -\n"), std::string::npos);
  EXPECT_NE(yaml.find("    scheduler_state:\n"), std::string::npos);
  EXPECT_NE(yaml.find("  state: \"finished\"\n"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvtier::bench
