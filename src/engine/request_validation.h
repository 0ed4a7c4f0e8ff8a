#pragma once
// Checks a request against the model and the engine's limits before it is accepted, with
// messages that name the field and value (they reach users as HTTP 400 bodies).
#include <cstdint>

#include "common/status.h"
#include "engine/request.h"

namespace kvtier::engine {

struct RequestLimits {
  int32_t vocab_size = 0;
  int32_t max_model_len = 0;
  int32_t max_logprobs = 20;
  bool has_tokenizer = false;  // stop strings need text
  bool priority_scheduling = false;  // --scheduling-policy priority: any priority is accepted
};

Status validate_request(const GenerationRequest& request, const RequestLimits& limits);

}  // namespace kvtier::engine
