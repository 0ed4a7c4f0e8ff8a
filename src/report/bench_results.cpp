#include "report/bench_results.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kvtier::report {
namespace {

using Json = nlohmann::json;

// Drops what a comparison never reads: per-request records and sampled PDFs.
bool skip_bulk(int depth, Json::parse_event_t event, Json& parsed) {
  if (event == Json::parse_event_t::key && depth >= 2 && parsed.is_string()) {
    const auto& key = parsed.get_ref<const std::string&>();
    if (key == "requests" || key == "pdf") return false;
  }
  return true;
}

class Reader {
 public:
  Reader(const Json& benchmark, std::string where) : b_(benchmark), where_(std::move(where)) {}

  Expected<double> number(std::initializer_list<const char*> path) const {
    const Json* node = &b_;
    std::string dotted;
    for (const char* key : path) {
      dotted += dotted.empty() ? key : fmt::format(".{}", key);
      if (!node->is_object() || !node->contains(key)) {
        return data_loss("{}.{}: missing", where_, dotted);
      }
      node = &(*node)[key];
    }
    if (!node->is_number()) {
      return data_loss("{}.{}: not a number ({})", where_, dotted, node->dump());
    }
    return node->get<double>();
  }

 private:
  const Json& b_;
  std::string where_;
};

Expected<LevelResult> read_level(const Json& b, const std::string& where, size_t index) {
  LevelResult r;
  const Json* strategy = nullptr;
  for (const char* holder : {"config", "args"}) {
    if (b.contains(holder) && b[holder].is_object() && b[holder].contains("strategy")) {
      strategy = &b[holder]["strategy"];
      break;
    }
  }
  if (strategy && strategy->is_object()) {
    r.strategy = strategy->value("type_", std::string("unknown"));
    auto num = [&](const char* key) -> std::optional<double> {
      if (strategy->contains(key) && (*strategy)[key].is_number()) {
        return (*strategy)[key].get<double>();
      }
      return std::nullopt;
    };
    if (auto streams = num("streams"))
      r.level = *streams;
    else if (auto rate = num("rate"))
      r.level = *rate;
    else if (r.strategy == "synchronous")
      r.level = 1;
    else if (auto cap = num("max_concurrency"))
      r.level = *cap;
    else
      r.level = static_cast<double>(index + 1);
  } else {
    r.strategy = "unknown";
    r.level = static_cast<double>(index + 1);
  }
  Reader m(b, where);
  // (field, metrics.NAME.GROUP.STAT): every one must be in the file.
  struct Field {
    double LevelResult::*out;
    const char* name;
    const char* group;
    const char* stat;
  };
  static constexpr Field kFields[] = {
      {&LevelResult::requests_per_second, "requests_per_second", "successful", "mean"},
      {&LevelResult::output_tokens_per_second, "output_tokens_per_second", "total", "mean"},
      {&LevelResult::latency_mean_s, "request_latency", "successful", "mean"},
      {&LevelResult::latency_median_s, "request_latency", "successful", "median"},
      {&LevelResult::ttft_mean_ms, "time_to_first_token_ms", "successful", "mean"},
      {&LevelResult::ttft_median_ms, "time_to_first_token_ms", "successful", "median"},
      {&LevelResult::itl_mean_ms, "inter_token_latency_ms", "successful", "mean"},
      {&LevelResult::itl_median_ms, "inter_token_latency_ms", "successful", "median"},
  };
  for (const Field& f : kFields) {
    KVTIER_ASSIGN_OR_RETURN(r.*f.out, m.number({"metrics", f.name, f.group, f.stat}));
  }
  auto total = [&](const char* status, int64_t& out) {
    if (auto t = m.number({"metrics", "request_totals", status})) out = static_cast<int64_t>(*t);
  };
  total("successful", r.successful);
  total("incomplete", r.incomplete);
  total("errored", r.errored);
  // Percentiles and times are optional: older files and hand-made ones may lack them.
  auto optional = [&](std::initializer_list<const char*> path, double& out) {
    if (auto v = m.number(path)) out = *v;
  };
  optional({"metrics", "request_latency", "successful", "percentiles", "p99"}, r.latency_p99_s);
  optional({"metrics", "time_to_first_token_ms", "successful", "percentiles", "p99"},
           r.ttft_p99_ms);
  optional({"metrics", "inter_token_latency_ms", "successful", "percentiles", "p99"}, r.itl_p99_ms);
  optional({"start_time"}, r.start_time);
  optional({"end_time"}, r.end_time);
  return r;
}

Expected<BenchResults> from_json(const Json& root, const std::string& name) {
  if (!root.is_object() || !root.contains("benchmarks") || !root["benchmarks"].is_array()) {
    return data_loss("{}: no \"benchmarks\" list (not a GuideLLM / kvtier bench results file)",
                     name);
  }
  BenchResults results;
  results.path = name;
  const auto& list = root["benchmarks"];
  if (list.empty()) return data_loss("{}: the \"benchmarks\" list is empty", name);
  for (size_t i = 0; i < list.size(); ++i) {
    KVTIER_ASSIGN_OR_RETURN(auto level,
                            read_level(list[i], fmt::format("{}: benchmarks[{}]", name, i), i));
    results.levels.push_back(level);
  }
  std::vector<std::pair<std::string, double>> levels;
  for (const auto& l : results.levels) levels.emplace_back(l.strategy, l.level);
  results.identity = read_run_identity(root, levels);
  return results;
}

}  // namespace

Expected<BenchResults> parse_bench_results(const std::string& text, const std::string& name) {
  Json root = Json::parse(text, skip_bulk, /*allow_exceptions=*/false);
  if (root.is_discarded()) return data_loss("{}: not valid JSON", name);
  return from_json(root, name);
}

Expected<BenchResults> load_bench_results(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return not_found("{}: cannot open", path.string());
  Json root = Json::parse(in, skip_bulk, /*allow_exceptions=*/false);
  if (root.is_discarded()) return data_loss("{}: not valid JSON (truncated?)", path.string());
  return from_json(root, path.string());
}

}  // namespace kvtier::report
