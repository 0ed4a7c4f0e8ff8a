#pragma once
// Splits a Jinja template into text and tags, applying whitespace control the way transformers
// configures Jinja2 (trim_blocks and lstrip_blocks on, `-` and `+` modifiers, newlines
// normalized to \n, one trailing newline dropped), and tokenizes the expressions inside tags.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvtier::tokenizer::jinja {

enum class TokenType { kName, kString, kInteger, kFloat, kOperator };

struct Token {
  TokenType type;
  std::string text;  // name, operator, or the decoded string literal
  int64_t integer = 0;
  double number = 0.0;
  int line = 0;
};

struct Segment {
  enum class Kind { kText, kVariable, kBlock };
  Kind kind;
  std::string text;           // kText
  std::vector<Token> tokens;  // kVariable, kBlock: the tag's contents
  int line = 0;
};

// Throws TemplateError (with the line) on unterminated tags, strings or unknown characters.
std::vector<Segment> lex_template(std::string_view source);

}  // namespace kvtier::tokenizer::jinja
