#pragma once
// Builds the CPU offload tier from vLLM's --kv-transfer-config JSON (and --kv-offloading-size),
// for the given device KV pool. Errors name the offending key.
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "kv/connector.h"
#include "kv/events.h"
#include "kv/pool.h"

namespace kvtier::kv {

struct OffloadOptions {
  std::string kv_transfer_config;              // raw JSON, may be empty
  std::optional<double> kv_offloading_size_gib;
  std::string kv_offloading_backend;           // "native" or empty
  KvEventSink* events = nullptr;               // CPU-medium events go here when set
};

// Returns nullptr (and no error) when no offloading is configured.
Expected<std::unique_ptr<KvConnector>> create_offload_connector(const OffloadOptions& options,
                                                                const KvPool& pool);

}  // namespace kvtier::kv
