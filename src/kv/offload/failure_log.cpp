#include "kv/offload/failure_log.h"

#include <spdlog/spdlog.h>

namespace kvtier::kv {

void TransferFailureLog::failed(TransferDirection direction, uint64_t ticket, size_t blocks,
                                const Status& why, std::string_view consequence) {
  PerDirection& d = direction == TransferDirection::kStore ? store_ : load_;
  const double now = clock_.now();
  if (d.logged && now - d.last < min_interval_s_) {
    ++d.held_back;
    return;
  }
  if (d.held_back > 0) {
    spdlog::warn(
        "offload tier: {} batch {} of {} blocks failed ({} more failed {} batches not "
        "logged): {}; {}",
        transfer_direction_name(direction), ticket, blocks, d.held_back,
        transfer_direction_name(direction), why.message(), consequence);
  } else {
    spdlog::warn("offload tier: {} batch {} of {} blocks failed: {}; {}",
                 transfer_direction_name(direction), ticket, blocks, why.message(), consequence);
  }
  d.logged = true;
  d.last = now;
  d.held_back = 0;
  ++lines_;
}

}  // namespace kvtier::kv
