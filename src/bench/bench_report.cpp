#include "bench/bench_report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <sstream>

#include "bench/atomic_file.h"
#include "bench/interrupt.h"
#include "bench/scheduler_summary.h"
#include "bench/yaml_writer.h"

namespace kvtier::bench {
namespace {

using Json = nlohmann::json;

Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }
Json opt(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

const char* info_status(RequestStatus s) {
  switch (s) {
    case RequestStatus::kSuccessful:
      return "completed";
    case RequestStatus::kIncomplete:
      return "cancelled";
    case RequestStatus::kErrored:
      return "errored";
  }
  return "errored";
}

Json constraints_json(const BenchConfig& c) {
  Json j = Json::object();
  if (c.max_seconds)
    j["max_seconds"] = {{"type_", "max_duration"}, {"max_duration", *c.max_seconds}};
  if (c.max_requests) j["max_requests"] = {{"type_", "max_number"}, {"max_num", *c.max_requests}};
  if (c.max_errors) j["max_errors"] = {{"type_", "max_errors"}, {"max_errors", *c.max_errors}};
  if (c.max_error_rate) {
    j["max_error_rate"] = {{"type_", "max_error_rate"},
                           {"max_error_rate", *c.max_error_rate},
                           {"window_size", kErrorRateWindow}};
  }
  return j;
}

Json benchmark_head(const BenchReport& report, const BenchmarkResult& b) {
  const auto& c = report.config;
  const auto& w = b.window;
  const int64_t total = b.metrics.successful + b.metrics.incomplete + b.metrics.errored;
  Json config = {{"id_", fmt::format("{}-{}", report.run_id, b.index)},
                 {"run_id", report.run_id},
                 {"run_index", b.index},
                 {"strategy", b.run.strategy.to_json()},
                 {"constraints", constraints_json(c)},
                 {"sample_requests", opt(c.sample_requests)},
                 {"warmup", c.warmup.to_json()},
                 {"cooldown", c.cooldown.to_json()},
                 {"prefer_response_metrics", true},
                 {"profile", report.profile},
                 {"requests",
                  {{"data", {c.data_text}},
                   {"synthetic", c.data.to_json()},
                   {"processor", report.processor},
                   {"random_seed", c.random_seed}}},
                 {"backend",
                  {{"type_", "openai_http"},
                   {"target", c.target_url},
                   {"model", report.model},
                   {"request_format", request_format_route(c.request_format)},
                   {"stream", c.stream}}},
                 {"environment", {{"tool", "kvtier bench"}, {"io_threads", c.io_threads}}}};
  return {{"type_", "generative_benchmark"},
          {"id_", fmt::format("{}-{}", report.run_id, b.index)},
          {"run_id", report.run_id},
          {"run_index", b.index},
          {"config", config},
          {"scheduler_state", scheduler_state_json(b.run, c.io_threads)},
          {"scheduler_metrics", scheduler_metrics_json(b.run, w)},
          {"start_time", w.measure_start},
          {"end_time", w.measure_end},
          {"duration", w.measure_end - w.measure_start},
          {"warmup_duration", w.measure_start - w.request_start},
          {"cooldown_duration", w.request_end - w.measure_end},
          {"metrics", b.metrics.to_json()},
          {"kvtier",
           {{"stop_reason", b.run.stop_reason},
            {"peak_in_flight", b.run.peak_in_flight},
            {"measured_requests", total},
            {"client_cpu_seconds", b.run.client_cpu_seconds},
            {"client_cpu_ms_per_request", b.client_cpu_ms_per_request()}}}};
}

void write_requests(const BenchmarkResult& b, std::ostream& out) {
  static constexpr const char* kStatuses[] = {"successful", "incomplete", "errored"};
  static constexpr RequestStatus kOrder[] = {RequestStatus::kSuccessful, RequestStatus::kIncomplete,
                                             RequestStatus::kErrored};
  out << "{";
  for (size_t s = 0; s < 3; ++s) {
    out << (s ? "," : "") << '"' << kStatuses[s] << "\":[";
    bool first = true;
    auto emit = [&](const RequestRecord& r) {
      out << (first ? "" : ",") << dump(request_to_json(r));
      first = false;
    };
    if (b.run.samples) {
      for (size_t i : (*b.run.samples)[s]) emit(b.run.records[i]);
    } else {
      for (const auto& r : b.run.records) {
        if (r.status == kOrder[s]) emit(r);
      }
    }
    out << "]";
  }
  out << ",\"total\":null}";
}

void write_benchmark(const BenchReport& report, const BenchmarkResult& b, std::ostream& out) {
  std::string head = dump(benchmark_head(report, b));
  head.pop_back();  // reopen the object to append the requests
  out << head << ",\"requests\":";
  write_requests(b, out);
  out << "}";
}

std::string num(double v) { return fmt::format("{:.6g}", v); }

}  // namespace

double BenchmarkResult::client_cpu_ms_per_request() const {
  if (run.records.empty()) return 0.0;
  return 1000.0 * run.client_cpu_seconds / static_cast<double>(run.records.size());
}

BenchmarkResult make_result(int64_t index, BenchmarkRun run, const BenchConfig& config) {
  BenchmarkResult b;
  b.index = index;
  b.window = measure_window(run.records, run.start_time, run.end_time, config.warmup,
                            config.cooldown, config.max_seconds, config.max_requests);
  b.metrics = compile_metrics(requests_in_window(run.records, b.window), b.window);
  b.run = std::move(run);
  return b;
}

Json request_to_json(const RequestRecord& r) {
  const auto outputs = r.output_token_count();
  const auto latency = r.latency();
  Json timings = {{"targeted_start", r.scheduled_time},
                  {"request_start", opt(r.request_start)},
                  {"first_token_iteration", opt(r.first_token)},
                  {"first_output_token_iteration", opt(r.first_token)},
                  {"last_token_iteration", opt(r.last_token)},
                  {"request_iterations", r.request_iterations},
                  {"token_iterations", r.token_iterations},
                  {"request_end", opt(r.request_end)},
                  {"dequeued", r.dispatch_time},
                  {"scheduled_at", r.dispatch_time},
                  {"resolve_start", r.dispatch_time},
                  {"resolve_end", r.end_time()},
                  {"finalized", r.finalize_time}};
  Json info = {{"request_id", r.request_id},
               {"conversation_id", std::to_string(r.conversation_index)},
               {"turn_index", r.turn_index},
               {"status", info_status(r.status)},
               {"error", r.error.empty() ? Json(nullptr) : Json(r.error)},
               {"timings", timings}};
  Json j = {{"type_", "generative_request_stats"},
            {"request_id", r.request_id},
            {"response_id", r.response_id.empty() ? Json(nullptr) : Json(r.response_id)},
            {"request_args", r.request_args.empty() ? Json(nullptr) : Json(r.request_args)},
            {"output", r.keep_details ? Json(r.output) : Json(nullptr)},
            {"info", info},
            {"input_metrics",
             {{"text_tokens", opt(r.prompt_tokens)},
              {"total_tokens", opt(r.prompt_tokens)},
              {"cached_tokens", opt(r.cached_tokens)}}},
            {"output_metrics",
             {{"text_tokens", opt(r.output_tokens)},
              {"text_words", opt(r.output_words)},
              {"text_characters", opt(r.output_characters)},
              {"total_tokens", opt(outputs)}}},
            {"request_start_time", r.start_time()},
            {"request_end_time", r.end_time()},
            {"request_latency", opt(latency)},
            {"prompt_tokens", opt(r.prompt_tokens)},
            {"output_tokens", opt(outputs)},
            {"total_tokens", r.total_tokens()},
            {"time_to_first_token_ms", opt(r.time_to_first_token_ms())},
            {"time_per_output_token_ms", opt(r.time_per_output_token_ms())},
            {"inter_token_latency_ms", opt(r.inter_token_latency_ms())},
            {"inter_chunk_latency_ms", opt(r.inter_chunk_latency_ms())},
            {"output_tokens_per_iteration", opt(r.output_tokens_per_iteration())},
            {"iter_tokens_per_iteration", opt(r.iter_tokens_per_iteration())},
            {"tokens_per_second",
             latency && *latency > 0 ? Json(r.total_tokens() / *latency) : Json(nullptr)},
            {"output_tokens_per_second", latency && *latency > 0 && outputs
                                             ? Json(static_cast<double>(*outputs) / *latency)
                                             : Json(nullptr)}};
  return j;
}

void write_benchmarks_json(const BenchReport& report, std::ostream& out) {
  const bool interrupted = report.state == RunState::kInterrupted;
  Json metadata = {{"version", 1},
                   {"tool", "kvtier bench"},
                   {"guidellm_layout", "0.6"},
                   {"run_id", report.run_id},
                   {"model", report.model},
                   {"processor", report.processor},
                   {"state", run_state_name(report.state)},
                   {"benchmarks_planned", report.planned},
                   {"benchmarks_finished", report.benchmarks.size()},
                   {"interrupted", interrupted}};
  if (interrupted) metadata["interrupted_by"] = signal_name(report.interrupted_by);
  if (report.state == RunState::kFailed) metadata["error"] = report.error;
  std::string head = dump(metadata);
  head.pop_back();  // reopen the object to append the interrupted benchmark
  out << "{\"metadata\":" << head << ",\"interrupted_benchmark\":";
  if (report.interrupted) {
    write_benchmark(report, *report.interrupted, out);
  } else {
    out << "null";
  }
  out << "},\"args\":" << dump(report.config.args_json()) << ",\"benchmarks\":[";
  for (size_t i = 0; i < report.benchmarks.size(); ++i) {
    out << (i ? "," : "");
    write_benchmark(report, report.benchmarks[i], out);
  }
  out << "]}\n";
}

void write_benchmarks_csv(const BenchReport& report, std::ostream& out) {
  out << "benchmark,strategy,level,start_time,end_time,duration,successful,incomplete,errored,"
         "requests_per_second,request_concurrency,prompt_tokens_per_second,"
         "output_tokens_per_second,tokens_per_second,latency_s_mean,latency_s_median,"
         "latency_s_p99,ttft_ms_mean,ttft_ms_median,ttft_ms_p90,ttft_ms_p99,itl_ms_mean,"
         "itl_ms_median,itl_ms_p90,itl_ms_p99,tpot_ms_mean,tpot_ms_median,tpot_ms_p99,"
         "prompt_tokens_mean,output_tokens_mean,client_cpu_ms_per_request\n";
  for (const auto& b : report.benchmarks) {
    const auto& m = b.metrics;
    const auto& lat = m.request_latency.successful;
    const auto& ttft = m.time_to_first_token_ms.successful;
    const auto& itl = m.inter_token_latency_ms.successful;
    const auto& tpot = m.time_per_output_token_ms.successful;
    out << fmt::format(
        "{},{},{},{:.6f},{:.6f},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{"
        "},"
        "{},{},{}\n",
        b.index, b.run.strategy.label(), num(b.run.strategy.level()), b.window.measure_start,
        b.window.measure_end, num(b.window.measure_end - b.window.measure_start), m.successful,
        m.incomplete, m.errored, num(m.requests_per_second.successful.mean),
        num(m.request_concurrency.total.mean), num(m.prompt_tokens_per_second.total.mean),
        num(m.output_tokens_per_second.total.mean), num(m.tokens_per_second.total.mean),
        num(lat.mean), num(lat.median), num(lat.percentiles.p99), num(ttft.mean), num(ttft.median),
        num(ttft.percentiles.p90), num(ttft.percentiles.p99), num(itl.mean), num(itl.median),
        num(itl.percentiles.p90), num(itl.percentiles.p99), num(tpot.mean), num(tpot.median),
        num(tpot.percentiles.p99), num(m.prompt_token_count.successful.mean),
        num(m.output_token_count.successful.mean), num(b.client_cpu_ms_per_request()));
  }
}

std::string_view run_state_name(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kFinished:
      return "finished";
    case RunState::kInterrupted:
      return "interrupted";
    case RunState::kFailed:
      return "failed";
  }
  return "running";
}

void write_benchmarks_yaml(const BenchReport& report, std::ostream& out) {
  // The same document as benchmarks.json, read back into a tree to be written as YAML.
  std::stringstream json;
  write_benchmarks_json(report, json);
  write_yaml(nlohmann::json::parse(json), out);
}

Status write_outputs(const BenchReport& report, const HtmlWriter& html) {
  std::optional<std::filesystem::path> json_written;
  std::vector<std::filesystem::path> pages;
  for (const auto& o : report.config.outputs) {
    std::error_code ec;
    if (o.path.has_parent_path()) std::filesystem::create_directories(o.path.parent_path(), ec);
    if (ec) {
      return make_error(ErrorCode::kNotFound, "--outputs {}: cannot create folder {}: {}",
                        o.path.string(), o.path.parent_path().string(), ec.message());
    }
    if (o.kind == OutputKind::kHtml) {
      pages.push_back(o.path);  // after the JSON it renders
      continue;
    }
    Status written = write_file_atomically(o.path, [&](std::ostream& out) {
      switch (o.kind) {
        case OutputKind::kJson:
          write_benchmarks_json(report, out);
          break;
        case OutputKind::kCsv:
          write_benchmarks_csv(report, out);
          break;
        case OutputKind::kYaml:
          write_benchmarks_yaml(report, out);
          break;
        case OutputKind::kHtml:
          break;
      }
    });
    if (!written) return Status(written.code(), "--outputs " + written.message());
    if (o.kind == OutputKind::kJson && !json_written) json_written = o.path;
  }
  for (const auto& page : pages) {
    if (!html) {
      return make_error(ErrorCode::kUnimplemented,
                        "--outputs {}: this program has no HTML report writer", page.string());
    }
    // Without a JSON output the page is made from a hidden JSON file beside it.
    std::filesystem::path source = json_written.value_or(
        page.parent_path() / fmt::format(".{}.json.tmp-{}", page.stem().string(), ::getpid()));
    if (!json_written) {
      Status written = write_file_atomically(
          source, [&](std::ostream& out) { write_benchmarks_json(report, out); });
      if (!written) return Status(written.code(), "--outputs " + written.message());
    }
    Status rendered = html(source, page);
    if (!json_written) {
      std::error_code ec;
      std::filesystem::remove(source, ec);
    }
    if (!rendered) return Status(rendered.code(), "--outputs " + rendered.message());
  }
  return Status::ok();
}

}  // namespace kvtier::bench
