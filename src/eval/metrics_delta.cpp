#include "eval/metrics_delta.h"

#include <cmath>
#include <cstdlib>

namespace kvtier::eval {
namespace {

constexpr std::string_view kCounters[] = {
    "prompt_tokens",        "generation_tokens",           "prefix_cache_queries",
    "prefix_cache_hits",    "external_prefix_cache_queries", "external_prefix_cache_hits",
    "num_preemptions",      "kv_offload_total_bytes",      "kv_offload_total_time"};

bool wanted(std::string_view name) {
  for (auto c : kCounters) {
    if (c == name) return true;
  }
  return false;
}

// The value of label `key` in a "{a="x",b="y"}" block (escapes are not expected in these labels).
std::string label(std::string_view labels, std::string_view key) {
  const std::string needle = std::string(key) + "=\"";
  size_t at = labels.find(needle);
  while (at != std::string_view::npos && at > 0 && labels[at - 1] != '{' && labels[at - 1] != ',' &&
         labels[at - 1] != ' ') {
    at = labels.find(needle, at + 1);
  }
  if (at == std::string_view::npos) return "";
  const size_t start = at + needle.size();
  const size_t end = labels.find('"', start);
  return std::string(labels.substr(start, end == std::string_view::npos ? end : end - start));
}

}  // namespace

std::map<std::string, double> read_counters(std::string_view text) {
  std::map<std::string, double> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("vllm:", 0) != 0) continue;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    std::string name(line.substr(5, name_end - 5));
    std::string_view labels;
    size_t value_at = name_end;
    if (line[name_end] == '{') {
      size_t close = line.find('}', name_end);
      if (close == std::string_view::npos) continue;
      labels = line.substr(name_end, close - name_end + 1);
      value_at = close + 1;
    }
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0) {
      name.resize(name.size() - 6);
    }
    if (!wanted(name)) continue;
    while (value_at < line.size() && line[value_at] == ' ') ++value_at;
    const std::string value_text(line.substr(value_at, line.find(' ', value_at) - value_at));
    char* end = nullptr;
    const double value = std::strtod(value_text.c_str(), &end);
    if (end == value_text.c_str() || !std::isfinite(value)) continue;
    if (name.rfind("kv_offload_", 0) == 0) {
      const std::string type = label(labels, "transfer_type");
      if (type.empty()) continue;
      name += "{" + type + "}";
    }
    out[name] += value;
  }
  return out;
}

nlohmann::json metrics_delta(const std::vector<std::string>& before,
                             const std::vector<std::string>& after) {
  if (before.empty() || after.empty()) return nullptr;
  std::map<std::string, double> b, a;
  for (const auto& text : before) {
    for (const auto& [k, v] : read_counters(text)) b[k] += v;
  }
  for (const auto& text : after) {
    for (const auto& [k, v] : read_counters(text)) a[k] += v;
  }
  auto delta = [&](const std::string& key) { return a[key] - b[key]; };
  auto count = [&](const std::string& key) {
    const double d = delta(key);
    return nlohmann::json(int64_t(std::llround(d)));
  };
  nlohmann::json out = {
      {"prompt_tokens", count("prompt_tokens")},
      {"generation_tokens", count("generation_tokens")},
      {"prefix_cache_queries", count("prefix_cache_queries")},
      {"prefix_cache_hits", count("prefix_cache_hits")},
      {"external_prefix_cache_queries", count("external_prefix_cache_queries")},
      {"external_prefix_cache_hits", count("external_prefix_cache_hits")},
      {"num_preemptions", count("num_preemptions")},
      {"kv_offload_bytes",
       {{"GPU_to_CPU", count("kv_offload_total_bytes{GPU_to_CPU}")},
        {"CPU_to_GPU", count("kv_offload_total_bytes{CPU_to_GPU}")}}},
      {"kv_offload_seconds",
       {{"GPU_to_CPU", delta("kv_offload_total_time{GPU_to_CPU}")},
        {"CPU_to_GPU", delta("kv_offload_total_time{CPU_to_GPU}")}}}};
  return out;
}

}  // namespace kvtier::eval
