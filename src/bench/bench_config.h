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

enum class OutputKind { kJson, kCsv };
struct OutputSpec {
  OutputKind kind = OutputKind::kJson;
  std::filesystem::path path;  // resolved against --output-dir
};

struct RawBenchArgs {
  std::string target;
  std::vector<std::string> data;
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
  std::optional<int64_t> max_concurrency;
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
  std::optional<int64_t> max_concurrency;
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

  // GuideLLM's "args" block of benchmarks.json: the options as given, and (once a run resolved
  // them) the model and processor it used.
  nlohmann::json args_json() const;
};

Expected<BenchConfig> make_bench_config(const RawBenchArgs& raw);

}  // namespace kvtier::bench
