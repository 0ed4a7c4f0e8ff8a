#pragma once
// A request as the engine thread tracks it: its tokens, how many have KV in the cache, its
// blocks, and what sampling and text output need. Owned by the Engine; the scheduler holds
// pointers. Engine thread only.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/request.h"
#include "engine/sampler.h"
#include "engine/text_stream.h"
#include "kv/block_manager.h"

namespace kvtier::engine {

enum class SeqState {
  kWaiting,  // queued; may already hold blocks after its KV arrived from the second tier
  kLoading,  // holds blocks whose KV is still arriving from the second tier
  kRunning,
  kFinished,
};

struct Sequence {
  std::string id;
  SamplingParams params;
  OutputSink sink;
  std::vector<int32_t> tokens;  // prompt, then generated tokens
  int32_t num_prompt = 0;
  int32_t num_computed = 0;  // leading tokens whose KV is in the cache
  SeqState state = SeqState::kWaiting;
  kv::SeqBlocks kv;
  std::vector<int32_t>
      stop_ids;  // eos (unless ignore_eos) and stop_token_ids: masked before min_tokens
  SamplingState sampling;
  std::unique_ptr<TextStream> text;  // null without a tokenizer
  RequestTimings timings;
  int32_t cached_tokens = 0;    // prompt tokens found in the GPU or CPU cache at admission
  bool admitted_once = false;   // prefix statistics count the first admission only
  uint64_t scheduled_step = 0;  // the step that last scheduled it
  int64_t priority = 0;         // the request's; only the priority policy reads it
  uint64_t arrival_order = 0;   // set by Scheduler::add: equal arrival times go by submission

  int32_t num_tokens() const { return int32_t(tokens.size()); }
  int32_t num_output() const { return int32_t(tokens.size()) - num_prompt; }
};

}  // namespace kvtier::engine
