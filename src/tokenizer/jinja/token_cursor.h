#pragma once
// A read position over the tokens of one template tag, for the parsers.
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/value.h"

namespace kvtier::tokenizer::jinja {

class TokenCursor {
 protected:
  void begin_tag(const Segment& s) {
    tokens_ = &s.tokens;
    tok_ = 0;
    tag_line_ = s.line;
  }
  bool at_end() const { return tok_ >= tokens_->size(); }
  const Token& peek(size_t ahead = 0) const {
    static const Token kEnd{TokenType::kOperator, "end of tag", 0, 0.0, 0};
    return tok_ + ahead < tokens_->size() ? (*tokens_)[tok_ + ahead] : kEnd;
  }
  const Token& next() {
    if (at_end()) fail("unexpected end of tag", tag_line_);
    return (*tokens_)[tok_++];
  }
  bool peek_operator(std::string_view op) const {
    return !at_end() && peek().type == TokenType::kOperator && peek().text == op;
  }
  bool peek_name(std::string_view name) const {
    return !at_end() && peek().type == TokenType::kName && peek().text == name;
  }
  void expect_operator(std::string_view op) {
    if (!peek_operator(op)) fail(fmt::format("expected '{}', got '{}'", op, peek().text), at_end() ? tag_line_ : peek().line);
    next();
  }
  void expect_name(std::string_view name) {
    if (!peek_name(name)) fail(fmt::format("expected '{}', got '{}'", name, peek().text), at_end() ? tag_line_ : peek().line);
    next();
  }
  void expect_end() const {
    if (!at_end()) fail(fmt::format("unexpected '{}' at the end of a tag", peek().text), peek().line);
  }
  [[noreturn]] void fail(const std::string& message, int line) const { throw TemplateError(message, line); }

 private:
  const std::vector<Token>* tokens_ = nullptr;
  size_t tok_ = 0;
  int tag_line_ = 0;
};

}  // namespace kvtier::tokenizer::jinja
