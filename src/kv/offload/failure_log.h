#pragma once
// One warning line per failed offload batch, at most one a second per direction: a broken copy
// engine fails every batch of every step, and the log must stay readable. Lines held back are
// counted in the next one. Engine thread only (the tier's poll()).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "kv/offload/clock.h"
#include "kv/offload/transfer.h"

namespace kvtier::kv {

class TransferFailureLog {
 public:
  explicit TransferFailureLog(Clock& clock, double min_interval_s = 1.0)
      : clock_(clock), min_interval_s_(min_interval_s) {}

  // Batch `ticket` of `blocks` device blocks failed because of `why`; `consequence` says what
  // the tier did about it ("its 4 CPU blocks are dropped").
  void failed(TransferDirection direction, uint64_t ticket, size_t blocks, const Status& why,
              std::string_view consequence);

  // Lines written, for tests.
  int64_t lines() const { return lines_; }

 private:
  struct PerDirection {
    double last = 0;
    bool logged = false;
    int64_t held_back = 0;
  };

  Clock& clock_;
  const double min_interval_s_;
  PerDirection store_, load_;
  int64_t lines_ = 0;
};

}  // namespace kvtier::kv
