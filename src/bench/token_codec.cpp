#include "bench/token_codec.h"

#include "tokenizer/tokenizer.h"

namespace kvtier::bench {
namespace {

class TokenizerCodec final : public TokenCodec {
 public:
  explicit TokenizerCodec(std::shared_ptr<const tokenizer::Tokenizer> t) : t_(std::move(t)) {}
  Expected<std::vector<int32_t>> encode(std::string_view text) const override {
    return t_->encode(text);
  }
  std::string decode(std::span<const int32_t> ids) const override {
    return t_->decode(ids, /*skip_special_tokens=*/true);
  }

 private:
  std::shared_ptr<const tokenizer::Tokenizer> t_;
};

}  // namespace

Expected<std::shared_ptr<const TokenCodec>> load_token_codec(const std::filesystem::path& dir) {
  KVTIER_ASSIGN_OR_RETURN(auto tok, tokenizer::Tokenizer::load(dir));
  return std::shared_ptr<const TokenCodec>(std::make_shared<TokenizerCodec>(std::move(tok)));
}

}  // namespace kvtier::bench
