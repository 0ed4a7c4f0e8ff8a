#include "kv/offload/offload_config.h"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kvtier::kv {
namespace {

using nlohmann::json;

constexpr std::string_view kFlag = "--kv-transfer-config";
constexpr std::string_view kExtra = "kv_connector_extra_config";
constexpr double kGiB = double(1ull << 30);
// A CPU block of more GPU blocks than this is a typo, not a layout (vLLM uses 1-64).
constexpr int64_t kMaxBlocksPerGroup = 1024;

// Keys of vLLM's KVTransferConfig that say nothing to a CPU offload tier: accepted, unused.
bool is_ignored_transfer_key(std::string_view key) {
  for (std::string_view k : {"engine_id", "kv_buffer_device", "kv_buffer_size", "kv_rank",
                             "kv_parallel_size", "kv_ip", "kv_port", "kv_connector_module_path",
                             "enable_permute_local_kv", "kv_load_failure_policy"}) {
    if (key == k) return true;
  }
  return false;
}

std::string_view trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

Expected<json> parse_json(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    return invalid_argument("{} is not valid JSON: {}", kFlag, e.what());
  }
}

Expected<int64_t> positive_integer(const json& value, std::string_view key) {
  if (!value.is_number_integer()) {
    return invalid_argument("{}: {}.{} must be a positive integer, got {}", kFlag, kExtra, key,
                            value.dump());
  }
  if (value.is_number_unsigned() ? value.get<uint64_t>() == 0 : value.get<int64_t>() <= 0) {
    return invalid_argument("{}: {}.{} must be a positive integer, got {}", kFlag, kExtra, key,
                            value.dump());
  }
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
    return invalid_argument("{}: {}.{} is too large: {}", kFlag, kExtra, key, value.dump());
  }
  return value.get<int64_t>();
}

// Blocks of `block_bytes` that fit in `bytes`, or an error naming `what`.
Expected<int32_t> blocks_in(double bytes, size_t block_bytes, std::string_view what) {
  const double blocks = std::floor(bytes / double(block_bytes));
  if (blocks < 1) {
    return invalid_argument("{} ({} bytes) holds no KV block of {} bytes", what, bytes,
                            block_bytes);
  }
  if (blocks > double(std::numeric_limits<int32_t>::max())) {
    return invalid_argument("{} ({} bytes) makes more than {} blocks of {} bytes", what, bytes,
                            std::numeric_limits<int32_t>::max(), block_bytes);
  }
  return int32_t(blocks);
}

struct ExtraConfig {
  std::optional<int64_t> num_cpu_blocks;
  std::optional<double> cpu_bytes_to_use;
};

Status parse_extra(const json& extra, const KvLayout& layout, OffloadConfig& config,
                   ExtraConfig& sizes) {
  if (extra.is_null()) return Status::ok();
  if (!extra.is_object()) {
    return invalid_argument("{}: {} must be an object, got {}", kFlag, kExtra, extra.dump());
  }
  for (const auto& [key, value] : extra.items()) {
    if (key == "num_cpu_blocks") {
      KVTIER_ASSIGN_OR_RETURN(sizes.num_cpu_blocks, positive_integer(value, key));
      if (*sizes.num_cpu_blocks > std::numeric_limits<int32_t>::max()) {
        return invalid_argument("{}: {}.num_cpu_blocks {} exceeds {}", kFlag, kExtra,
                                *sizes.num_cpu_blocks, std::numeric_limits<int32_t>::max());
      }
    } else if (key == "cpu_bytes_to_use") {
      if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() <= 0) {
        return invalid_argument("{}: {}.cpu_bytes_to_use must be a positive number, got {}", kFlag,
                                kExtra, value.dump());
      }
      sizes.cpu_bytes_to_use = value.get<double>();
    } else if (key == "eviction_policy") {
      auto kind =
          value.is_string() ? parse_eviction_policy(value.get<std::string>()) : std::nullopt;
      if (!kind) {
        return invalid_argument("{}: {}.eviction_policy must be \"lru\" or \"arc\", got {}", kFlag,
                                kExtra, value.dump());
      }
      config.eviction_policy = *kind;
    } else if (key == "block_size") {
      KVTIER_ASSIGN_OR_RETURN(int64_t block_size, positive_integer(value, key));
      if (block_size % layout.block_size != 0) {
        return invalid_argument("{}: {}.block_size {} is not a multiple of the GPU block size {}",
                                kFlag, kExtra, block_size, layout.block_size);
      }
      if (block_size > kMaxBlocksPerGroup * int64_t(layout.block_size)) {
        return invalid_argument(
            "{}: {}.block_size {} groups more than {} GPU blocks of {} tokens per CPU block", kFlag,
            kExtra, block_size, kMaxBlocksPerGroup, layout.block_size);
      }
      config.block_size = int32_t(block_size);
    } else if (key == "store_prompt_only") {
      if (!value.is_boolean()) {
        return invalid_argument("{}: {}.store_prompt_only must be true or false, got {}", kFlag,
                                kExtra, value.dump());
      }
      config.store_prompt_only = value.get<bool>();
    } else if (key == "spec_name") {
      if (value != "CPUOffloadingSpec") {
        return make_error(ErrorCode::kUnimplemented,
                          "{}: {}.spec_name {} is not supported (only \"CPUOffloadingSpec\")",
                          kFlag, kExtra, value.dump());
      }
    } else if (key == "spec_module_path") {
      if (value != "vllm.v1.kv_offload.cpu") {
        return make_error(
            ErrorCode::kUnimplemented,
            "{}: {}.spec_module_path {} is not supported (only \"vllm.v1.kv_offload.cpu\")", kFlag,
            kExtra, value.dump());
      }
    } else if (key == "store_threshold") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return invalid_argument("{}: {}.store_threshold must be a non-negative integer, got {}",
                                kFlag, kExtra, value.dump());
      }
      if (value.get<int64_t>() >= 2) {
        return make_error(ErrorCode::kUnimplemented,
                          "{}: {}.store_threshold {} is not supported (0 or 1: store every block)",
                          kFlag, kExtra, value.dump());
      }
    } else {
      return invalid_argument(
          "{}: unknown key {}.{} (known: num_cpu_blocks, cpu_bytes_to_use, eviction_policy, "
          "block_size, "
          "store_prompt_only, spec_name, spec_module_path, store_threshold)",
          kFlag, kExtra, key);
    }
  }
  if (sizes.num_cpu_blocks && sizes.cpu_bytes_to_use) {
    return invalid_argument(
        "{}: {}.num_cpu_blocks and {}.cpu_bytes_to_use both size the tier; give one", kFlag, kExtra,
        kExtra);
  }
  return Status::ok();
}

Status parse_role(const json& value, OffloadConfig& config) {
  if (value == "kv_both") {
    config.role = KvRole::kBoth;
  } else if (value == "kv_producer") {
    config.role = KvRole::kProducer;
  } else if (value == "kv_consumer") {
    config.role = KvRole::kConsumer;
  } else {
    return invalid_argument(
        "{}: kv_role must be \"kv_both\", \"kv_producer\" or \"kv_consumer\", got {}", kFlag,
        value.dump());
  }
  return Status::ok();
}

}  // namespace

Expected<std::optional<OffloadConfig>> parse_offload_config(const OffloadOptions& options,
                                                            const KvLayout& layout) {
  const std::string& backend = options.kv_offloading_backend;
  if (!backend.empty() && backend != "native") {
    if (backend == "lmcache") {
      return make_error(
          ErrorCode::kUnimplemented,
          "--kv-offloading-backend lmcache is not supported; kvtier's own tier is \"native\"");
    }
    return invalid_argument("--kv-offloading-backend must be \"native\", got \"{}\"", backend);
  }
  const std::string_view text = trimmed(options.kv_transfer_config);
  const bool has_size = options.kv_offloading_size_gib.has_value();
  if (text.empty() && !has_size) return std::optional<OffloadConfig>();
  if (layout.block_bytes() == 0 || layout.block_size <= 0) {
    return invalid_argument("offload tier: the KV layout has empty blocks ({} tokens, {} bytes)",
                            layout.block_size, layout.block_bytes());
  }

  OffloadConfig config;
  config.block_size = layout.block_size;
  ExtraConfig sizes;
  if (!text.empty()) {
    KVTIER_ASSIGN_OR_RETURN(json root, parse_json(text));
    if (!root.is_object())
      return invalid_argument("{} must be a JSON object, got {}", kFlag, root.dump());
    bool has_role = false;
    for (const auto& [key, value] : root.items()) {
      if (key == "kv_connector") {
        if (value.is_null() && has_size) continue;
        if (value != "OffloadingConnector") {
          return make_error(
              ErrorCode::kUnimplemented,
              "{}: kv_connector {} is not supported (kvtier implements \"OffloadingConnector\")",
              kFlag, value.dump());
        }
      } else if (key == "kv_role") {
        if (value.is_null()) continue;
        KVTIER_RETURN_IF_ERROR(parse_role(value, config));
        has_role = true;
      } else if (key == std::string_view(kExtra)) {
        KVTIER_RETURN_IF_ERROR(parse_extra(value, layout, config, sizes));
      } else if (!is_ignored_transfer_key(key)) {
        return invalid_argument("{}: unknown key {}", kFlag, key);
      }
    }
    const bool has_connector = root.contains("kv_connector") && !root["kv_connector"].is_null();
    if (!has_connector && !has_size) {
      return invalid_argument(
          "{}: kv_connector is missing (kvtier implements \"OffloadingConnector\")", kFlag);
    }
    if (has_connector && !has_role) {
      return invalid_argument(
          "{}: kv_role is required with kv_connector (\"kv_both\", \"kv_producer\" or "
          "\"kv_consumer\")",
          kFlag);
    }
  }

  const size_t cpu_block_bytes = layout.block_bytes() * size_t(config.blocks_per_group(layout));
  if (has_size) {
    const double gib = *options.kv_offloading_size_gib;
    if (!std::isfinite(gib) || gib <= 0) {
      return invalid_argument("--kv-offloading-size must be a positive number of GiB, got {}", gib);
    }
    if (sizes.num_cpu_blocks || sizes.cpu_bytes_to_use) {
      return invalid_argument("--kv-offloading-size and {} {}.{} both size the tier; give one",
                              kFlag, kExtra,
                              sizes.num_cpu_blocks ? "num_cpu_blocks" : "cpu_bytes_to_use");
    }
    KVTIER_ASSIGN_OR_RETURN(
        config.num_cpu_blocks,
        blocks_in(gib * kGiB, cpu_block_bytes, fmt::format("--kv-offloading-size {}", gib)));
  } else if (sizes.cpu_bytes_to_use) {
    KVTIER_ASSIGN_OR_RETURN(
        config.num_cpu_blocks,
        blocks_in(*sizes.cpu_bytes_to_use, cpu_block_bytes,
                  fmt::format("{}.cpu_bytes_to_use {}", kExtra, *sizes.cpu_bytes_to_use)));
  } else if (sizes.num_cpu_blocks) {
    config.num_cpu_blocks = int32_t(*sizes.num_cpu_blocks);
  } else {
    return invalid_argument(
        "{}: {}.num_cpu_blocks is missing (or give cpu_bytes_to_use, or --kv-offloading-size)",
        kFlag, kExtra);
  }
  const int64_t host_slots = int64_t(config.num_cpu_blocks) * config.blocks_per_group(layout);
  if (host_slots > std::numeric_limits<int32_t>::max()) {
    return invalid_argument("{}: {} CPU blocks of {} tokens make {} GPU-sized blocks, more than {}",
                            kFlag, config.num_cpu_blocks, config.block_size, host_slots,
                            std::numeric_limits<int32_t>::max());
  }
  return std::optional<OffloadConfig>(config);
}

}  // namespace kvtier::kv
