#include "bench/data_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/cli_values.h"

namespace kvtier::bench {
namespace {

constexpr std::string_view kFlag = "--data";

Status read_range(const nlohmann::json& j, const std::string& name, bool required,
                  std::optional<TokenRange>& out) {
  std::optional<int64_t> average, stdev, min, max;
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, j, name.c_str(), 1, average));
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, j, (name + "_stdev").c_str(), 1, stdev));
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, j, (name + "_min").c_str(), 1, min));
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, j, (name + "_max").c_str(), 1, max));
  if (!average) {
    if (required) return invalid_argument("{}: {} is required (e.g. {}=128)", kFlag, name, name);
    if (stdev || min || max) {
      return invalid_argument("{}: {}_stdev/_min/_max given without {}", kFlag, name, name);
    }
    return Status::ok();
  }
  if (min && max && *min > *max) {
    return invalid_argument("{}: {}_min {} is above {}_max {}", kFlag, name, *min, name, *max);
  }
  out = TokenRange{*average, stdev, min, max};
  return Status::ok();
}

}  // namespace

Expected<SyntheticDataConfig> data_config_from_json(const nlohmann::json& j) {
  static constexpr std::string_view kKnown[] = {
      "prompt_tokens", "prompt_tokens_stdev", "prompt_tokens_min", "prompt_tokens_max",
      "output_tokens", "output_tokens_stdev", "output_tokens_min", "output_tokens_max",
      "prefix_tokens", "prefix_count",        "prefix_buckets",    "turns"};
  if (!j.is_object()) {
    return invalid_argument("{}: expected an object of synthetic data keys, got {}", kFlag,
                            j.dump());
  }
  SyntheticDataConfig config;
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      config.ignored_keys.push_back(key);
    }
  }
  std::optional<TokenRange> prompt;
  KVTIER_RETURN_IF_ERROR(read_range(j, "prompt_tokens", true, prompt));
  config.prompt = *prompt;
  KVTIER_RETURN_IF_ERROR(read_range(j, "output_tokens", false, config.output));

  std::optional<int64_t> turns, prefix_tokens, prefix_count;
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, j, "turns", 1, turns));
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, j, "prefix_tokens", 0, prefix_tokens));
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, j, "prefix_count", 1, prefix_count));
  config.turns = turns.value_or(1);

  if (auto buckets = j.find("prefix_buckets"); buckets != j.end() && !buckets->is_null()) {
    if (prefix_tokens || prefix_count) {
      return invalid_argument(
          "{}: prefix_buckets cannot be combined with prefix_tokens or "
          "prefix_count",
          kFlag);
    }
    if (!buckets->is_array()) {
      return invalid_argument("{}: prefix_buckets must be a list, got {}", kFlag, buckets->dump());
    }
    for (const auto& b : *buckets) {
      KVTIER_RETURN_IF_ERROR(check_keys("--data prefix_buckets[]", b,
                                        {"bucket_weight", "prefix_count", "prefix_tokens"}));
      std::optional<int64_t> weight, count, tokens;
      KVTIER_RETURN_IF_ERROR(
          read_int_field("--data prefix_buckets[]", b, "bucket_weight", 1, weight));
      KVTIER_RETURN_IF_ERROR(
          read_int_field("--data prefix_buckets[]", b, "prefix_count", 1, count));
      KVTIER_RETURN_IF_ERROR(
          read_int_field("--data prefix_buckets[]", b, "prefix_tokens", 0, tokens));
      config.prefix_buckets.push_back(
          {weight.value_or(100), count.value_or(1), tokens.value_or(0)});
    }
  } else if (prefix_tokens || prefix_count) {
    config.prefix_buckets.push_back({100, prefix_count.value_or(1), prefix_tokens.value_or(0)});
  }
  return config;
}

Expected<SyntheticDataConfig> parse_data_config(std::string_view text) {
  std::string trimmed(text);
  if (!trimmed.empty() && trimmed.front() != '{' && trimmed.find('=') == std::string::npos) {
    std::error_code ec;
    std::filesystem::path path(trimmed);
    if (std::filesystem::is_regular_file(path, ec)) {
      std::ifstream in(path);
      std::stringstream ss;
      ss << in.rdbuf();
      auto json = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
      if (json.is_discarded()) {
        return invalid_argument("--data {}: the file is not valid JSON", trimmed);
      }
      return data_config_from_json(json);
    }
    return invalid_argument(
        "--data '{}': not a synthetic data config (JSON or key=value like "
        "prompt_tokens=128,output_tokens=128) and no such file; datasets are not supported",
        trimmed);
  }
  KVTIER_ASSIGN_OR_RETURN(auto json, parse_object_value(kFlag, text));
  return data_config_from_json(json);
}

nlohmann::json SyntheticDataConfig::to_json() const {
  nlohmann::json j;
  auto put_range = [&](const std::string& name, const TokenRange& r) {
    j[name] = r.average;
    if (r.stdev) j[name + "_stdev"] = *r.stdev;
    if (r.min) j[name + "_min"] = *r.min;
    if (r.max) j[name + "_max"] = *r.max;
  };
  put_range("prompt_tokens", prompt);
  if (output) put_range("output_tokens", *output);
  j["turns"] = turns;
  if (!prefix_buckets.empty()) {
    nlohmann::json buckets = nlohmann::json::array();
    for (const auto& b : prefix_buckets) {
      buckets.push_back({{"bucket_weight", b.bucket_weight},
                         {"prefix_count", b.prefix_count},
                         {"prefix_tokens", b.prefix_tokens}});
    }
    j["prefix_buckets"] = buckets;
  }
  return j;
}

}  // namespace kvtier::bench
