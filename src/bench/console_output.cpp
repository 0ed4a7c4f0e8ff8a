#include "bench/console_output.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "bench/interrupt.h"

namespace kvtier::bench {
namespace {

// Columns padded to their widest cell; the first column left-aligned, numbers right-aligned.
std::string table(const std::string& title, const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t c = 0; c < cells.size(); ++c) {
      out += c == 0 ? fmt::format(" {:<{}} |", cells[c], width[c])
                    : fmt::format(" {:>{}} |", cells[c], width[c]);
    }
    return out + "\n";
  };
  std::string out = title + "\n" + line(header) + "|";
  for (size_t c = 0; c < header.size(); ++c) {
    out += std::string(width[c] + 2, '-') + "|";
  }
  out += "\n";
  for (const auto& row : rows) out += line(row);
  return out + "\n";
}

std::string f(double v, int digits = 1) {
  return fmt::format("{:.{}f}", v, digits);
}

}  // namespace

std::string format_summary_tables(const BenchReport& report) {
  std::vector<std::vector<std::string>> info, latency, throughput;
  for (const auto& b : report.benchmarks) {
    const auto& m = b.metrics;
    const std::string name = b.run.strategy.label();
    info.push_back({name, f(b.window.measure_end - b.window.measure_start, 2),
                    std::to_string(m.successful), std::to_string(m.incomplete),
                    std::to_string(m.errored), f(m.prompt_token_count.successful.mean),
                    f(m.output_token_count.successful.mean), b.run.stop_reason,
                    f(b.client_cpu_ms_per_request(), 3)});
    const auto& lat = m.request_latency.successful;
    const auto& ttft = m.time_to_first_token_ms.successful;
    const auto& itl = m.inter_token_latency_ms.successful;
    const auto& tpot = m.time_per_output_token_ms.successful;
    latency.push_back({name, f(lat.mean, 2), f(lat.median, 2), f(lat.percentiles.p99, 2),
                       f(ttft.mean), f(ttft.median), f(ttft.percentiles.p99), f(itl.mean),
                       f(itl.median), f(itl.percentiles.p99), f(tpot.mean), f(tpot.median),
                       f(tpot.percentiles.p99)});
    throughput.push_back(
        {name, f(m.requests_per_second.successful.mean, 2), f(m.request_concurrency.total.mean, 2),
         f(m.prompt_tokens_per_second.total.mean), f(m.output_tokens_per_second.total.mean),
         f(m.tokens_per_second.total.mean)});
  }
  std::string out;
  out += table("Benchmarks Info",
               {"Benchmark", "Duration (s)", "Completed", "Incomplete", "Errored", "Prompt tok",
                "Output tok", "Stopped by", "Client CPU ms/req"},
               info);
  out += table("Request Latency Statistics (completed requests)",
               {"Benchmark", "Latency mean (s)", "Latency mdn (s)", "Latency p99 (s)",
                "TTFT mean (ms)", "TTFT mdn (ms)", "TTFT p99 (ms)", "ITL mean (ms)", "ITL mdn (ms)",
                "ITL p99 (ms)", "TPOT mean (ms)", "TPOT mdn (ms)", "TPOT p99 (ms)"},
               latency);
  std::string errors;
  for (const auto& b : report.benchmarks) {
    int64_t count = 0;
    const RequestRecord* first = nullptr;
    for (const auto& r : b.run.records) {
      if (r.status != RequestStatus::kErrored) continue;
      ++count;
      if (!first || r.start_time() < first->start_time()) first = &r;
    }
    if (first) {
      errors += fmt::format("  {}: {} errored request{}; first: {}\n", b.run.strategy.label(),
                            count, count == 1 ? "" : "s", first->error);
    }
  }
  if (!errors.empty()) out += "Errors\n" + errors + "\n";
  out += table(
      "Server Throughput Statistics",
      {"Benchmark", "Requests/s", "Concurrency", "Input tok/s", "Output tok/s", "Total tok/s"},
      throughput);
  return out;
}

std::string format_benchmark_line(const BenchReport& report, size_t i) {
  const auto& b = report.benchmarks.at(i);
  const auto& m = b.metrics;
  return fmt::format(
      "Benchmark {}/{} done: {}  {:.1f}s  completed {}  incomplete {}  errored {}  {:.2f} req/s  "
      "{:.1f} out tok/s  TTFT mdn {:.1f} ms  ITL mdn {:.2f} ms  latency mdn {:.2f} s  ({})\n",
      i + 1, std::max(report.planned, report.benchmarks.size()), b.run.strategy.label(),
      b.window.measure_end - b.window.measure_start, m.successful, m.incomplete, m.errored,
      m.requests_per_second.successful.mean, m.output_tokens_per_second.total.mean,
      m.time_to_first_token_ms.successful.median, m.inter_token_latency_ms.successful.median,
      m.request_latency.successful.median, b.run.stop_reason);
}

std::string format_interrupted_line(const BenchReport& report) {
  std::string where = "between benchmarks";
  if (report.interrupted) {
    where = fmt::format("during benchmark {}/{} ({})", report.interrupted->index + 1,
                        std::max(report.planned, report.benchmarks.size() + 1),
                        report.interrupted->run.strategy.label());
  }
  const size_t n = report.benchmarks.size();
  std::string files;
  bool json = false;
  for (const auto& o : report.config.outputs) {
    files += (files.empty() ? "" : ", ") + o.path.string();
    json = json || o.kind == OutputKind::kJson;
  }
  std::string out = fmt::format("kvtier bench: interrupted by {} {}; ",
                                signal_name(report.interrupted_by), where);
  if (files.empty()) return out + "no output files were asked for (--outputs)\n";
  out += fmt::format("wrote {} finished benchmark{} to {}", n, n == 1 ? "" : "s", files);
  if (report.interrupted && json) {
    out += " (the interrupted one, apart, as metadata.interrupted_benchmark in the JSON)";
  }
  return out + "\n";
}

ProgressLine::ProgressLine(bool enabled) : active_(enabled && isatty(STDOUT_FILENO) == 1) {}

void ProgressLine::update(size_t benchmark, size_t planned, const std::string& label,
                          std::optional<double> max_seconds, const ProgressSnapshot& s) {
  if (!active_) return;
  const std::string elapsed = max_seconds ? fmt::format("{:.1f}/{:g}s", s.elapsed, *max_seconds)
                                          : fmt::format("{:.1f}s", s.elapsed);
  const double tok_s = s.elapsed > 0 ? static_cast<double>(s.output_tokens) / s.elapsed : 0.0;
  std::fputs(fmt::format("\r\033[K[{}/{}] {}  {}  done {}  in flight {}  incomplete {}  "
                         "errors {}  {:.0f} out tok/s",
                         benchmark + 1, planned, label, elapsed, s.successful, s.in_flight,
                         s.incomplete, s.errored, tok_s)
                 .c_str(),
             stdout);
  std::fflush(stdout);
  drawn_ = true;
}

void ProgressLine::finish() {
  if (active_ && drawn_) {
    std::fputs("\n", stdout);
    std::fflush(stdout);
  }
  drawn_ = false;
}

}  // namespace kvtier::bench
