#pragma once
// The tokenizer as the load generator needs it: text to ids and back. The Qwen3 tokenizer
// (tokenizer::Tokenizer) implements it in load_token_codec().
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kvtier::bench {

class TokenCodec {
 public:
  virtual ~TokenCodec() = default;
  virtual Expected<std::vector<int32_t>> encode(std::string_view text) const = 0;
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
};

// Loads tokenizer.json (+ tokenizer_config.json) from `dir`.
Expected<std::shared_ptr<const TokenCodec>> load_token_codec(const std::filesystem::path& dir);

}  // namespace kvtier::bench
