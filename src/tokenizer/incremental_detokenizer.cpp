#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {

IncrementalDetokenizer::IncrementalDetokenizer(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special_tokens)
    : tokenizer_(std::move(tokenizer)), skip_special_(skip_special_tokens) {}

// The bytes of all tokens so far, decoded as decode() would, except a trailing sequence that
// more bytes could still complete: concatenating every push() and flush() gives decode(ids).
std::string IncrementalDetokenizer::push(int32_t id) {
  if (skip_special_ && tokenizer_->is_special(id)) return {};
  pending_ += tokenizer_->token_bytes(id);
  const size_t ready = utf8_emittable_prefix(pending_);
  if (ready == 0) return {};
  std::string out = utf8_lossy(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string IncrementalDetokenizer::flush() {
  std::string out = utf8_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace kvtier::tokenizer
