#pragma once
// Offline generation straight on a ModelRunner: every prompt gets the KV blocks it can ever need
// up front, prompts are prefilled together in chunks of the token budget, then all unfinished
// sequences decode one token per step in one batch. What `kvtier generate` and the benchmarks
// run; serving goes through the engine instead.
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/model_runner.h"
#include "model/sampling.h"

namespace kvtier::model {

struct GenerateParams {
  int32_t max_tokens = 16;
  double temperature = 0.0;             // 0: greedy
  uint64_t seed = 0;                    // temperature sampling: prompt i draws from seed and i
  int32_t logprobs = 0;                 // top-k log-probabilities per generated token (0: none)
  std::vector<int32_t> stop_token_ids;  // finishing tokens (eos), kept in the output
  int32_t max_num_batched_tokens = 2048;
};

struct GenerateOutput {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> output_ids;
  std::vector<TopLogprobs> logprobs;  // one per output token when asked for
  std::string finish_reason;          // "stop" (a stop token) or "length"
};

Expected<std::vector<GenerateOutput>> generate(ModelRunner& runner,
                                               const std::vector<std::vector<int32_t>>& prompts,
                                               const GenerateParams& params);

}  // namespace kvtier::model
