#pragma once
// Conversations made ahead of use on a background thread, so building prompts (tokenizing
// filler) never delays a request's start.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "bench/synthetic_dataset.h"
#include "common/status.h"

namespace kvtier::bench {

class ConversationSource {
 public:
  using Generator = std::function<Expected<ConversationSpec>()>;
  ConversationSource(Generator generate, size_t lookahead);
  ~ConversationSource();
  ConversationSource(const ConversationSource&) = delete;
  ConversationSource& operator=(const ConversationSource&) = delete;

  // Thread-safe; waits when the generator is behind. The generator's first error is returned
  // from then on.
  Expected<ConversationSpec> next();
  // Waits until `count` conversations are ready (or the generator failed).
  Status prefill(size_t count);

 private:
  void produce();

  Generator generate_;
  const size_t lookahead_;
  std::mutex mu_;  // guards everything below; the producer thread and callers of next() share it
  std::condition_variable cv_;
  std::deque<ConversationSpec> ready_;
  std::optional<Status> failure_;
  bool shutting_down_ = false;
  std::thread producer_;
};

}  // namespace kvtier::bench
