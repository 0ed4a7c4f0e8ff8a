#include "server/chat_template_flag.h"

#include <fstream>
#include <sstream>

#include "common/regular_file.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer_config.h"
#include "tokenizer/tokenizer_json.h"

namespace kvtier::server {
namespace {

// The file's text, or why it could not be read (absent, a directory, a FIFO...).
Expected<std::string> read_template_file(const std::string& path) {
  KVTIER_RETURN_IF_ERROR(require_regular_file(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open {}", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

Expected<ChatTemplateFlag> load_chat_template_flag(const std::string& value) {
  if (value.empty()) return invalid_argument("--chat-template needs a file or a template");
  ChatTemplateFlag flag;
  auto file = read_template_file(value);
  if (file) {
    flag.text = std::move(*file);
    flag.source = "--chat-template " + value;
  } else if (value.find_first_of("{}\n") == std::string::npos) {
    // vLLM's rule: without Jinja's characters the value was meant as a path.
    return invalid_argument("--chat-template {}: looks like a file path, but it cannot be read: {}",
                            value, file.error().message());
  } else {
    flag.text = value;
    flag.source = "--chat-template (inline)";
  }
  auto parsed = tokenizer::ChatTemplate::parse(flag.text, flag.source);
  if (!parsed) return invalid_argument("{}", parsed.error().message());
  return flag;
}

Expected<std::shared_ptr<const tokenizer::Tokenizer>> load_tokenizer_with_template(
    const std::filesystem::path& dir, const ChatTemplateFlag& flag) {
  KVTIER_ASSIGN_OR_RETURN(tokenizer::TokenizerSpec spec,
                          tokenizer::read_tokenizer_json(dir / "tokenizer.json"));
  KVTIER_ASSIGN_OR_RETURN(tokenizer::TokenizerConfig config, tokenizer::read_tokenizer_config(dir));
  config.chat_template = flag.text;
  config.chat_template_source = flag.source;
  return tokenizer::Tokenizer::build(std::move(spec), std::move(config));
}

}  // namespace kvtier::server
