#pragma once
// Everything `kvtier bench` was asked to do, validated. RawBenchArgs holds the flags as typed
// (GuideLLM's names); make_bench_config() checks them and names the flag and key at fault.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/data_config.h"
#include "bench/http_target.h"
#include "bench/phase.h"
#include "bench/request_body.h"
#include "common/status.h"

namespace kvtier::bench {

enum class ProfileKind { kSynchronous, kConcurrent, kThroughput, kConstant, kPoisson, kSweep };
Expected<ProfileKind> parse_profile_kind(std::string_view text);
std::string_view profile_kind_name(ProfileKind kind);

// GuideLLM's output kinds. kHtml is the `kvtier report` page for the run's benchmarks.json,
// which the CLI writes (the report module renders it; see HtmlWriter in bench_report.h).
enum class OutputKind { kJson, kCsv, kHtml, kYaml };
struct OutputSpec {
  OutputKind kind = OutputKind::kJson;
  std::filesystem::path path;  // resolved against --output-dir
};

struct RawBenchArgs {
  std::string target;
  std::vector<std::string> data;
  // The --data file when the CLI already read it (YAML: the CLI links the YAML parser). Keys as
  // in the JSON form; `data` keeps the path for the args block.
  std::optional<nlohmann::json> data_json;
  std::string profile = "sweep";
  std::vector<std::string> rate;
  std::string backend = "openai_http";
  std::string backend_kwargs;
  std::string model;
  std::string request_type;
  std::string processor;
  std::optional<int64_t> random_seed;
  std::string output_dir;
  std::vector<std::string> outputs;
  std::string output_path;
  bool disable_console = false;
  bool disable_progress = false;
  std::string warmup;
  std::string cooldown;
  std::optional<int64_t> sample_requests;
  std::optional<double> max_seconds;
  std::optional<int64_t> max_requests;
  std::optional<int64_t> max_errors;
  std::optional<double> max_error_rate;
  std::optional<int64_t> max_concurrency;
  std::optional<double> rampup;
  int io_threads = 0;  // 0: chosen from the machine's cores
};

struct BenchConfig {
  std::string target_url;
  HttpTarget target;
  ProfileKind profile = ProfileKind::kSweep;
  std::vector<double> rates;
  std::optional<double> max_seconds;
  std::optional<int64_t> max_requests;
  std::optional<int64_t> max_errors;
  // GuideLLM's max_error_rate constraint: a benchmark stops once this fraction of the last
  // kErrorRateWindow finished requests errored (checked from the window's-th request on).
  std::optional<double> max_error_rate;
  std::optional<int64_t> max_concurrency;  // for throughput: its --rate
  double rampup = 0;  // seconds over which concurrent/throughput/constant ramp up their load
  PhaseSpec warmup, cooldown;
  int64_t random_seed = 42;
  std::string data_text;
  SyntheticDataConfig data;
  std::optional<int64_t> sample_requests;  // none: every request in full
  std::filesystem::path output_dir;
  std::vector<OutputSpec> outputs;
  RequestFormat request_format = RequestFormat::kChatCompletions;
  std::string processor;  // tokenizer folder; empty: found from the server's model
  std::string model;      // empty: the server's first model
  HttpOptions http;
  nlohmann::json extra_body = nlohmann::json::object();
  bool validate_backend = true;
  bool stream = true;
  nlohmann::json backend_kwargs = nlohmann::json::object();  // as given (api_key masked on output)
  int io_threads = 1;
  bool console = true;
  bool progress = true;
  // Accepted but worth saying, e.g. --data keys that are ignored; the CLI prints each once.
  std::vector<std::string> warnings;

  // GuideLLM's "args" block of benchmarks.json: the options as given, and (once a run resolved
  // them) the model and processor it used.
  nlohmann::json args_json() const;
};

Expected<BenchConfig> make_bench_config(const RawBenchArgs& raw);

}  // namespace kvtier::bench
