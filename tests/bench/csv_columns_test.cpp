// benchmarks.csv and the console tables, column by column, against numbers worked out by hand
// from known request records (known_records.h).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_report.h"
#include "bench/console_output.h"
#include "known_records.h"

namespace kvtier::bench {
namespace {

using testing::known_report;
using testing::KnownNumbers;

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, sep)) cells.push_back(cell);
  if (!line.empty() && line.back() == sep) cells.emplace_back();
  return cells;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(' ');
  const size_t b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// One data row of a CSV, by header name.
std::map<std::string, std::string> csv_row(const std::string& csv) {
  std::istringstream in(csv);
  std::string header, row, extra;
  EXPECT_TRUE(std::getline(in, header));
  EXPECT_TRUE(std::getline(in, row));
  EXPECT_FALSE(std::getline(in, extra)) << "more than one row: " << extra;
  const auto names = split(header, ',');
  const auto values = split(row, ',');
  EXPECT_EQ(names.size(), values.size()) << header << "\n" << row;
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    EXPECT_TRUE(out.emplace(names[i], values[i]).second) << "column twice: " << names[i];
  }
  return out;
}

// The rows of the table titled `title` (header first), cells trimmed.
std::vector<std::vector<std::string>> console_table(const std::string& text,
                                                    const std::string& title) {
  std::vector<std::vector<std::string>> rows;
  const size_t at = text.find(title + "\n");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no table " << title << " in\n" << text;
    return rows;
  }
  std::istringstream in(text.substr(at + title.size() + 1));
  std::string line;
  while (std::getline(in, line) && line.starts_with("|")) {
    if (line.starts_with("|-")) continue;
    auto cells = split(line.substr(1, line.size() - 2), '|');
    for (auto& c : cells) c = trim(c);
    rows.push_back(cells);
  }
  return rows;
}

std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

TEST(CsvColumns, EveryColumnHoldsItsOwnNumber) {
  const KnownNumbers k;
  const BenchConfig config;
  std::ostringstream csv;
  write_benchmarks_csv(known_report(config), csv);
  const auto row = csv_row(csv.str());

  const std::map<std::string, double> numbers = {
      {"benchmark", 4},
      {"level", 3},
      {"duration", k.duration},
      {"successful", static_cast<double>(k.successful)},
      {"incomplete", static_cast<double>(k.incomplete)},
      {"errored", static_cast<double>(k.errored)},
      {"requests_per_second", k.requests_per_second},
      {"request_concurrency", k.concurrency},
      {"prompt_tokens_per_second", k.prompt_tokens_per_second},
      {"output_tokens_per_second", k.output_tokens_per_second},
      {"tokens_per_second", k.tokens_per_second},
      {"latency_s_mean", k.latency_mean},
      {"latency_s_median", k.latency_median},
      {"latency_s_p99", k.latency_p99},
      {"ttft_ms_mean", k.ttft_mean},
      {"ttft_ms_median", k.ttft_median},
      {"ttft_ms_p90", k.ttft_p90},
      {"ttft_ms_p99", k.ttft_p99},
      {"itl_ms_mean", k.itl_mean},
      {"itl_ms_median", k.itl_median},
      {"itl_ms_p90", k.itl_p90},
      {"itl_ms_p99", k.itl_p99},
      {"tpot_ms_mean", k.tpot_mean},
      {"tpot_ms_median", k.tpot_median},
      {"tpot_ms_p99", k.tpot_p99},
      {"prompt_tokens_mean", k.prompt_tokens_mean},
      {"output_tokens_mean", k.output_tokens_mean},
      {"client_cpu_ms_per_request", k.client_cpu_ms_per_request},
  };
  const std::map<std::string, std::string> texts = {
      {"strategy", "concurrent@3"},
      {"start_time", "1796616000.000000"},
      {"end_time", "1796616008.000000"},
  };
  EXPECT_EQ(row.size(), numbers.size() + texts.size());
  for (const auto& [name, expected] : numbers) {
    auto it = row.find(name);
    ASSERT_NE(it, row.end()) << "no column " << name;
    // Written with 6 significant digits.
    EXPECT_NEAR(std::stod(it->second), expected, 1e-5 * expected) << name;
  }
  for (const auto& [name, expected] : texts) {
    auto it = row.find(name);
    ASSERT_NE(it, row.end()) << "no column " << name;
    EXPECT_EQ(it->second, expected) << name;
  }
}

TEST(CsvColumns, ConsoleTablesShowEachNumberUnderItsHeader) {
  const KnownNumbers k;
  const BenchConfig config;
  const BenchReport report = known_report(config);
  const std::string text = format_summary_tables(report);

  const auto info = console_table(text, "Benchmarks Info");
  ASSERT_EQ(info.size(), 2u) << text;
  EXPECT_EQ(info[0], (std::vector<std::string>{"Benchmark", "Duration (s)", "Completed",
                                               "Incomplete", "Errored", "Prompt tok", "Output tok",
                                               "Stopped by", "Client CPU ms/req"}));
  EXPECT_EQ(info[1], (std::vector<std::string>{
                         "concurrent@3", fixed(k.duration, 2), "11", "2", "1",
                         fixed(k.prompt_tokens_mean, 1), fixed(k.output_tokens_mean, 1),
                         "max_seconds reached", fixed(k.client_cpu_ms_per_request, 3)}));

  const auto latency = console_table(text, "Request Latency Statistics (completed requests)");
  ASSERT_EQ(latency.size(), 2u) << text;
  EXPECT_EQ(latency[0],
            (std::vector<std::string>{
                "Benchmark", "Latency mean (s)", "Latency mdn (s)", "Latency p99 (s)",
                "TTFT mean (ms)", "TTFT mdn (ms)", "TTFT p99 (ms)", "ITL mean (ms)", "ITL mdn (ms)",
                "ITL p99 (ms)", "TPOT mean (ms)", "TPOT mdn (ms)", "TPOT p99 (ms)"}));
  EXPECT_EQ(latency[1], (std::vector<std::string>{
                            "concurrent@3", fixed(k.latency_mean, 2), fixed(k.latency_median, 2),
                            fixed(k.latency_p99, 2), fixed(k.ttft_mean, 1), fixed(k.ttft_median, 1),
                            fixed(k.ttft_p99, 1), fixed(k.itl_mean, 1), fixed(k.itl_median, 1),
                            fixed(k.itl_p99, 1), fixed(k.tpot_mean, 1), fixed(k.tpot_median, 1),
                            fixed(k.tpot_p99, 1)}));

  const auto throughput = console_table(text, "Server Throughput Statistics");
  ASSERT_EQ(throughput.size(), 2u) << text;
  EXPECT_EQ(throughput[0],
            (std::vector<std::string>{"Benchmark", "Requests/s", "Concurrency", "Input tok/s",
                                      "Output tok/s", "Total tok/s"}));
  EXPECT_EQ(throughput[1],
            (std::vector<std::string>{"concurrent@3", fixed(k.requests_per_second, 2),
                                      fixed(k.concurrency, 2), fixed(k.prompt_tokens_per_second, 1),
                                      fixed(k.output_tokens_per_second, 1),
                                      fixed(k.tokens_per_second, 1)}));

  EXPECT_NE(
      text.find("Errors\n  concurrent@3: 1 errored request; first: HTTP 500: engine failed\n"),
      std::string::npos)
      << text;

  EXPECT_EQ(format_benchmark_line(report, 0),
            fmt::format("Benchmark 1/1 done: concurrent@3  8.0s  completed 11  incomplete 2  "
                        "errored 1  {:.2f} req/s  {:.1f} out tok/s  TTFT mdn {:.1f} ms  ITL mdn "
                        "{:.2f} ms  latency mdn {:.2f} s  (max_seconds reached)\n",
                        k.requests_per_second, k.output_tokens_per_second, k.ttft_median,
                        k.itl_median, k.latency_median));
}

}  // namespace
}  // namespace kvtier::bench
