#include "bench/bench_cli.h"

namespace kvtier::bench {
namespace {

// Each occurrence takes one value; repeated occurrences add up.
CLI::Option* add_list(CLI::App& app, const std::string& names, std::vector<std::string>& out,
                      const std::string& help) {
  return app.add_option(names, out, help)
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

template <typename T>
CLI::Option* add_optional(CLI::App& app, const std::string& names, std::optional<T>& out,
                          const std::string& help) {
  return app.add_option_function<T>(
      names, [&out](const T& v) { out = v; }, help);
}

}  // namespace

void add_bench_options(CLI::App& app, RawBenchArgs& raw) {
  app.add_option("--target", raw.target, "Server URL, e.g. http://localhost:8000");
  add_list(app, "--data", raw.data,
           "Synthetic data as JSON or key=value, or a .json/.yaml file of them: prompt_tokens, "
           "output_tokens (+ _stdev, _min, _max), prefix_tokens, prefix_count, prefix_buckets, "
           "turns");
  app.add_option("--profile,--rate-type", raw.profile,
                 "synchronous, concurrent, throughput, constant, poisson or sweep")
      ->capture_default_str();
  add_list(app, "--rate", raw.rate,
           "Comma list: concurrency levels (concurrent), the concurrency cap (throughput), "
           "requests/s (constant, poisson), or the number of benchmarks (sweep, default 10)");
  app.add_option("--backend,--backend-type", raw.backend, "openai_http")->capture_default_str();
  app.add_option("--backend-kwargs,--backend-args", raw.backend_kwargs,
                 "JSON: api_key, timeout, timeout_connect, headers, extras/extra_body (extra body "
                 "fields), validate_backend, stream, request_format, model, max_tokens");
  app.add_option("--model", raw.model, "Model name sent in requests (default: the server's first)");
  app.add_option("--request-type,--request-format", raw.request_type,
                 "chat_completions (default) or text_completions");
  app.add_option("--processor", raw.processor,
                 "Tokenizer folder for exact prompt lengths (default: the served model's folder, "
                 "else the bundled Qwen3 tokenizer)");
  add_optional(app, "--random-seed", raw.random_seed, "Seed for data and arrivals (default 42)");
  app.add_option("--output-dir", raw.output_dir, "Folder for the output files (default: .)");
  add_list(app, "--outputs", raw.outputs,
           "json, csv, html, yaml, console or file names (benchmarks.json, /tmp/run.csv); "
           "default json,csv");
  app.add_option("--output-path", raw.output_path, "Legacy: one output file (or its folder)");
  app.add_flag("--disable-console,--disable-console-outputs", raw.disable_console, "Print nothing");
  app.add_flag("--disable-console-interactive,--disable-progress", raw.disable_progress,
               "No live progress line");
  app.add_option("--warmup,--warmup-percent", raw.warmup,
                 "Left out at each benchmark's start: < 1 a fraction, >= 1 seconds");
  app.add_option("--cooldown,--cooldown-percent", raw.cooldown,
                 "Left out at each benchmark's end: < 1 a fraction, >= 1 seconds");
  add_optional(app, "--sample-requests,--output-sampling", raw.sample_requests,
               "Requests kept in full per status (default all; 0 keeps timings only)");
  add_optional(app, "--max-seconds", raw.max_seconds, "Duration of each benchmark");
  add_optional(app, "--max-requests", raw.max_requests, "Requests per benchmark");
  add_optional(app, "--max-errors", raw.max_errors, "Stop a benchmark after this many errors");
  add_optional(app, "--max-error-rate", raw.max_error_rate,
               "Stop a benchmark once this fraction (0-1) of its last 30 finished requests "
               "errored (GuideLLM's sliding window)");
  add_optional(app, "--rampup", raw.rampup,
               "Seconds to ramp up the load at each benchmark's start: concurrent and "
               "throughput stagger their first requests, constant raises its rate linearly");
  add_optional(app, "--max-concurrency", raw.max_concurrency,
               "In-flight cap for constant, poisson and sweep");
  app.add_option("--io-threads", raw.io_threads,
                 "Client network threads (default: half the cores, 1 to 4)");
}

}  // namespace kvtier::bench
