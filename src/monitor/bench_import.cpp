#include "monitor/bench_import.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "monitor/archive_writer.h"

namespace kvtier::monitor {
namespace {

using Json = nlohmann::json;

constexpr int kBenchDomain = 245;  // libpcp_import's own domain (PMI_DOMAIN)
constexpr int kLevelInDom = 0;

MetricDesc level_metric(const char* name, int item, Units units) {
  return {name, kBenchDomain, 0, item, ValueType::kDouble, kLevelInDom, Semantics::kInstant, units};
}
MetricDesc request_metric(const char* name, int item, Units units) {
  return {name, kBenchDomain, 1, item, ValueType::kDouble, kLevelInDom, Semantics::kInstant, units};
}

// (metric, path under metrics.<name>.successful) for the per-level aggregates.
struct LevelField {
  MetricDesc desc;
  const char* metric;
  const char* group;
  std::vector<const char*> stat;
};

const std::vector<LevelField>& level_fields() {
  static const std::vector<LevelField> kFields = {
      {level_metric("bench.level.requests_per_second", 0, kCountPerSec), "requests_per_second", "successful", {"mean"}},
      {level_metric("bench.level.output_tokens_per_second", 1, kCountPerSec), "output_tokens_per_second", "total", {"mean"}},
      {level_metric("bench.level.ttft.mean", 2, kMillisec), "time_to_first_token_ms", "successful", {"mean"}},
      {level_metric("bench.level.ttft.p50", 3, kMillisec), "time_to_first_token_ms", "successful", {"percentiles", "p50"}},
      {level_metric("bench.level.ttft.p99", 4, kMillisec), "time_to_first_token_ms", "successful", {"percentiles", "p99"}},
      {level_metric("bench.level.itl.mean", 5, kMillisec), "inter_token_latency_ms", "successful", {"mean"}},
      {level_metric("bench.level.itl.p50", 6, kMillisec), "inter_token_latency_ms", "successful", {"percentiles", "p50"}},
      {level_metric("bench.level.itl.p99", 7, kMillisec), "inter_token_latency_ms", "successful", {"percentiles", "p99"}},
      {level_metric("bench.level.latency.mean", 8, kSeconds), "request_latency", "successful", {"mean"}},
      {level_metric("bench.level.latency.p50", 9, kSeconds), "request_latency", "successful", {"percentiles", "p50"}},
      {level_metric("bench.level.latency.p99", 10, kSeconds), "request_latency", "successful", {"percentiles", "p99"}},
  };
  return kFields;
}
const MetricDesc kLevelSuccessful = level_metric("bench.level.successful", 11, kCount);

// (metric, request field) for the per-request records.
const std::pair<MetricDesc, const char*> kRequestFields[] = {
    {request_metric("bench.request.ttft", 0, kMillisec), "time_to_first_token_ms"},
    {request_metric("bench.request.itl", 1, kMillisec), "inter_token_latency_ms"},
    {request_metric("bench.request.latency", 2, kSeconds), "request_latency"},
    {request_metric("bench.request.prompt_tokens", 3, kCount), "prompt_tokens"},
    {request_metric("bench.request.output_tokens", 4, kCount), "output_tokens"},
};

std::optional<double> number_at(const Json& node, std::initializer_list<const char*> path) {
  const Json* n = &node;
  for (const char* key : path) {
    if (!n->is_object() || !n->contains(key)) return std::nullopt;
    n = &(*n)[key];
  }
  if (!n->is_number()) return std::nullopt;
  return n->get<double>();
}

std::optional<double> first_number(const Json& node,
                                   std::initializer_list<std::initializer_list<const char*>> paths) {
  for (auto path : paths) {
    if (auto v = number_at(node, path)) return v;
  }
  return std::nullopt;
}

// "concurrent@5", as `kvtier report` names levels.
std::string level_name(const Json& b, size_t index) {
  const Json* strategy = nullptr;
  for (const char* holder : {"config", "args"}) {
    if (b.contains(holder) && b[holder].is_object() && b[holder].contains("strategy")) {
      strategy = &b[holder]["strategy"];
      break;
    }
  }
  std::string type = "level";
  std::optional<double> level;
  if (strategy && strategy->is_object()) {
    type = strategy->value("type_", std::string("level"));
    level = first_number(*strategy, {{"streams"}, {"rate"}, {"max_concurrency"}});
    if (!level && type == "synchronous") level = 1;
  }
  return fmt::format("{}@{}", type, level ? fmt::format("{}", *level) : std::to_string(index + 1));
}

struct Event {
  double time;
  const MetricDesc* desc;
  int level;
  double value;
};

}  // namespace

Expected<ImportStats> import_bench(const std::string& path, const std::string& archive) {
  std::ifstream in(path);
  if (!in) return not_found("{}: cannot open", path);
  Json root = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return data_loss("{}: not valid JSON (truncated?)", path);
  if (!root.is_object() || !root.contains("benchmarks") || !root["benchmarks"].is_array() ||
      root["benchmarks"].empty()) {
    return data_loss("{}: no \"benchmarks\" list (not a GuideLLM / kvtier bench results file)",
                     path);
  }
  const Json& list = root["benchmarks"];
  std::vector<std::string> instances;
  std::vector<Event> events;
  ImportStats stats;
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& b = list[i];
    instances.push_back(fmt::format("{} {}", i, level_name(b, i)));
    auto end = number_at(b, {"end_time"});
    if (!end) return data_loss("{}: benchmarks[{}].end_time: missing or not a number", path, i);
    const int level = static_cast<int>(i);
    for (const LevelField& f : level_fields()) {
      std::optional<double> v;
      if (f.stat.size() == 1) {
        v = number_at(b, {"metrics", f.metric, f.group, f.stat[0]});
      } else {
        v = number_at(b, {"metrics", f.metric, f.group, f.stat[0], f.stat[1]});
      }
      if (!v && f.stat.back() == std::string_view("p50")) {
        v = number_at(b, {"metrics", f.metric, f.group, "median"});
      }
      if (v) events.push_back({*end, &f.desc, level, *v});
    }
    if (auto n = number_at(b, {"metrics", "request_totals", "successful"})) {
      events.push_back({*end, &kLevelSuccessful, level, *n});
    }
    ++stats.levels;
    if (!b.contains("requests") || !b["requests"].is_object()) continue;
    const Json& requests = b["requests"];
    if (!requests.contains("successful") || !requests["successful"].is_array()) continue;
    for (const Json& r : requests["successful"]) {
      // kvtier and GuideLLM >= 0.4 name them request_*_time; older GuideLLM start/end_time;
      // GuideLLM's info.timings hold them too.
      auto t = first_number(r, {{"request_end_time"},
                                {"end_time"},
                                {"info", "timings", "request_end"},
                                {"scheduler_info", "request_timings", "request_end"}});
      if (!t) continue;
      bool any = false;
      for (const auto& [desc, field] : kRequestFields) {
        if (auto v = number_at(r, {field})) {
          events.push_back({*t, &desc, level, *v});
          any = true;
        }
      }
      stats.requests += any;
    }
  }
  if (events.empty()) return data_loss("{}: no metrics found in its benchmarks", path);
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time < b.time; });

  KVTIER_ASSIGN_OR_RETURN(auto writer, ArchiveWriter::create(archive));
  for (const LevelField& f : level_fields()) KVTIER_RETURN_IF_ERROR(writer->add_metric(f.desc));
  KVTIER_RETURN_IF_ERROR(writer->add_metric(kLevelSuccessful));
  for (const auto& [desc, field] : kRequestFields) KVTIER_RETURN_IF_ERROR(writer->add_metric(desc));
  for (size_t i = 0; i < instances.size(); ++i) {
    KVTIER_RETURN_IF_ERROR(writer->add_instance(kLevelSuccessful, static_cast<int>(i), instances[i]));
  }
  // Records must move forward in time and hold one value per metric and instance: two requests
  // of one level ending in the same microsecond go into consecutive records 1 us apart.
  constexpr double kTick = 1e-6;
  double record_time = -INFINITY;
  std::map<std::pair<const MetricDesc*, int>, bool> in_record;
  auto flush = [&]() -> Status {
    if (in_record.empty()) return Status::ok();
    KVTIER_RETURN_IF_ERROR(writer->write(record_time));
    in_record.clear();
    return Status::ok();
  };
  for (const Event& e : events) {
    const bool same_time = std::abs(e.time - record_time) < kTick / 2 || e.time < record_time;
    if (!same_time || in_record.contains({e.desc, e.level})) {
      const double last = record_time;
      KVTIER_RETURN_IF_ERROR(flush());
      record_time = std::max(e.time, last + kTick);
    }
    KVTIER_RETURN_IF_ERROR(writer->put(e.desc->name, instances[e.level], e.value));
    in_record[{e.desc, e.level}] = true;
  }
  KVTIER_RETURN_IF_ERROR(flush());
  stats.records = writer->records();
  KVTIER_RETURN_IF_ERROR(writer->finish());
  return stats;
}

}  // namespace kvtier::monitor
