#pragma once
// `kvtier serve --chat-template FILE_OR_TEMPLATE`, as vLLM's: a Jinja file's path, or the
// template itself. The value is read as a file when it opens; when it does not, a value with
// `{`, `}` or a newline is the template, and any other is a path that failed (an error naming it).
// The template replaces the tokenizer's own (tokenizer_config.json, chat_template.jinja) and is
// rendered by the same interpreter, with the same variables.
#include <filesystem>
#include <memory>
#include <string>

#include "common/status.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::server {

struct ChatTemplateFlag {
  std::string text;    // the Jinja source
  std::string source;  // "--chat-template FILE" or "--chat-template (inline)", for errors
};

// Reads the flag's value and parses the template, so a template the interpreter cannot handle
// fails at startup naming the flag, the line and the construct.
Expected<ChatTemplateFlag> load_chat_template_flag(const std::string& value);

// The tokenizer of `dir` with `flag`'s template instead of its own.
Expected<std::shared_ptr<const tokenizer::Tokenizer>> load_tokenizer_with_template(
    const std::filesystem::path& dir, const ChatTemplateFlag& flag);

}  // namespace kvtier::server
