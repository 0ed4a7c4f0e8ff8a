#include "bench/conversation_source.h"

namespace kvtier::bench {

ConversationSource::ConversationSource(Generator generate, size_t lookahead)
    : generate_(std::move(generate)), lookahead_(std::max<size_t>(lookahead, 1)) {
  producer_ = std::thread([this] { produce(); });
}

ConversationSource::~ConversationSource() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
  }
  cv_.notify_all();
  producer_.join();
}

void ConversationSource::produce() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return shutting_down_ || ready_.size() < lookahead_; });
      if (shutting_down_) return;
    }
    auto made = generate_();
    std::lock_guard lock(mu_);
    if (!made) {
      failure_ = made.error();
      cv_.notify_all();
      return;
    }
    ready_.push_back(std::move(made).value());
    cv_.notify_all();
  }
}

Expected<ConversationSpec> ConversationSource::next() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty() || failure_.has_value(); });
  if (ready_.empty()) return *failure_;
  ConversationSpec c = std::move(ready_.front());
  ready_.pop_front();
  cv_.notify_all();
  return c;
}

Status ConversationSource::prefill(size_t count) {
  std::unique_lock lock(mu_);
  count = std::min(count, lookahead_);
  cv_.wait(lock, [&] { return ready_.size() >= count || failure_.has_value(); });
  if (failure_ && ready_.size() < count) return *failure_;
  return Status::ok();
}

}  // namespace kvtier::bench
