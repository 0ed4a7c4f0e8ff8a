#pragma once
// Bounds that keep a hostile template from running away with memory, time or the stack. The
// defaults let every real chat template render; the fuzz harness lowers them so that each render
// stays short under the sanitizers while the limits themselves are still exercised.
#include <cstddef>

namespace kvtier::tokenizer::jinja {

struct RenderLimits {
  int max_call_depth = 200;
  size_t max_iterations = 1'000'000;
  // A rendered prompt of 32 MiB is millions of tokens, past any model's context; the total
  // bounds the work of templates that build and drop large strings in a loop.
  size_t max_output_bytes = size_t(32) << 20;
  size_t max_produced_bytes = size_t(512) << 20;
};

}  // namespace kvtier::tokenizer::jinja
