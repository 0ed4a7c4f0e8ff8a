#pragma once
// Reads Hugging Face's tokenizer.json into the parts kvtier implements: a byte-level BPE model,
// NFC (or no) normalization, Split(regex, Isolated) pre-tokenizers followed by ByteLevel, the
// ByteLevel decoder and added tokens. Anything else is refused with the JSON path of the
// component, so a tokenizer is never silently mis-tokenized.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"

namespace kvtier::tokenizer {

struct TokenizerSpec {
  BpeConfig bpe;
  std::vector<AddedToken> added_tokens;
  bool nfc = false;
  std::vector<std::string> split_patterns;  // Oniguruma regexes, applied one after the other
};

// `where` names the source in error messages (the file path).
Expected<TokenizerSpec> parse_tokenizer_json(const nlohmann::json& root, std::string_view where);
Expected<TokenizerSpec> read_tokenizer_json(const std::filesystem::path& path);
// The same from the file's text, streamed (tokenizer_json_stream.h) as read_tokenizer_json does.
Expected<TokenizerSpec> parse_tokenizer_json_text(std::string_view text, std::string_view where);

}  // namespace kvtier::tokenizer
