#pragma once
// Checks a ForwardBatch before any backend touches memory with it: token ids inside the
// vocabulary, positions inside the model's range, block tables long enough and naming blocks of
// the pool. Errors name the sequence, the position and the bad value.
#include <cstdint>

#include "common/status.h"
#include "model/config.h"
#include "model/forward_batch.h"

namespace kvtier::model {

Status check_forward_batch(const ForwardBatch& batch, const ModelConfig& config, int32_t block_size,
                           int32_t num_blocks);

}  // namespace kvtier::model
