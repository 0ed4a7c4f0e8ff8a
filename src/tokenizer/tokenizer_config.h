#pragma once
// The parts of Hugging Face's tokenizer_config.json kvtier uses: the special tokens the chat
// template sees (bos/eos/pad/unk) and the chat template itself.
#include <filesystem>
#include <optional>
#include <string>

#include "common/status.h"

namespace kvtier::tokenizer {

struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  std::optional<std::string> chat_template;
  std::string chat_template_source;  // where the template came from, for error messages
};

// Reads DIR/tokenizer_config.json (absent: no special tokens, no template). A chat_template.jinja
// beside it replaces the config's chat_template, as in transformers.
Expected<TokenizerConfig> read_tokenizer_config(const std::filesystem::path& dir);

}  // namespace kvtier::tokenizer
