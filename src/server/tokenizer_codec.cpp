#include "server/text_codec.h"

namespace kvtier::server {
namespace {

class TokenizerCodec final : public TextCodec {
 public:
  explicit TokenizerCodec(std::shared_ptr<const tokenizer::Tokenizer> tokenizer)
      : tokenizer_(std::move(tokenizer)) {}

  Expected<std::vector<int32_t>> encode(std::string_view text) const override {
    return tokenizer_->encode(text);
  }
  Expected<std::string> render_chat(const nlohmann::ordered_json& messages,
                                    const tokenizer::ChatOptions& options) const override {
    if (!options.chat_template && !tokenizer_->has_chat_template()) {
      return invalid_argument(
          "the tokenizer has no chat_template (tokenizer_config.json): /v1/chat/completions "
          "needs one; use /v1/completions");
    }
    return tokenizer_->apply_chat_template(messages, options);
  }
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override {
    return tokenizer_->decode(ids, skip_special_tokens);
  }
  std::string token_text(int32_t id) const override {
    int32_t one[1] = {id};
    return tokenizer_->decode(one, false);
  }
  std::string token_bytes(int32_t id) const override { return tokenizer_->token_bytes(id); }
  int32_t vocab_size() const override { return tokenizer_->vocab_size(); }

 private:
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
};

}  // namespace

std::shared_ptr<const TextCodec> make_tokenizer_codec(
    std::shared_ptr<const tokenizer::Tokenizer> tokenizer) {
  if (!tokenizer) return nullptr;
  return std::make_shared<TokenizerCodec>(std::move(tokenizer));
}

}  // namespace kvtier::server
