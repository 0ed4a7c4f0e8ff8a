#include "tokenizer/jinja/parser.h"

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tokenizer/jinja/expression_parser.h"
#include "tokenizer/jinja/lexer.h"

namespace kvtier::tokenizer::jinja {
namespace {

// Tags that end a body: parse_body stops there and leaves the tag to its opener.
const std::set<std::string, std::less<>> kEndTags = {"elif",     "else",      "endif",   "endfor",
                                                     "endset",   "endmacro",  "endfilter", "endwith",
                                                     "endraw",   "endgeneration", "endcall", "endblock"};

// Statements (tags) over the segments; expressions inside tags go to ExpressionParser.
class Parser : public ExpressionParser {
 public:
  explicit Parser(std::vector<Segment> segments) : segs_(std::move(segments)) {}

  Body parse() {
    std::string end;
    Body body = parse_body({}, end);
    if (!end.empty()) fail(fmt::format("unexpected '{{% {} %}}'", end), segs_[seg_].line);
    check_calls();
    return body;
  }

 private:
  // Parses statements up to one of `ends` (returned in `found`, its segment not consumed).
  Body parse_body(std::initializer_list<std::string_view> ends, std::string& found) {
    Body body;
    found.clear();
    while (seg_ < segs_.size()) {
      Segment& s = segs_[seg_];
      if (s.kind == Segment::Kind::kText) {
        body.push_back(std::make_unique<TextStmt>(s.line, std::move(s.text)));
        ++seg_;
        continue;
      }
      begin_tag(s);
      if (s.kind == Segment::Kind::kVariable) {
        ExprPtr e = parse_tuple(false, true, {});
        expect_end();
        body.push_back(std::make_unique<OutputStmt>(s.line, std::move(e)));
        ++seg_;
        continue;
      }
      const Token& head = peek();
      if (head.type != TokenType::kName) fail("expected a tag name after '{%'", head.line);
      if (kEndTags.count(head.text) != 0) {
        for (std::string_view e : ends) {
          if (head.text == e) {
            found = head.text;
            return body;
          }
        }
        if (ends.size() == 0) fail(fmt::format("unexpected '{{% {} %}}'", head.text), head.line);
        fail(fmt::format("unexpected '{{% {} %}}', expected '{{% {} %}}'", head.text, *ends.begin()), head.line);
      }
      body.push_back(parse_statement());
    }
    if (ends.size() > 0) {
      fail(fmt::format("unexpected end of template, expected '{{% {} %}}'", *ends.begin()),
           segs_.empty() ? 1 : segs_.back().line);
    }
    return body;
  }

  // The current segment is a block tag whose first token is its name.
  StmtPtr parse_statement() {
    const Token head = next();
    const int line = head.line;
    const std::string& tag = head.text;
    if (tag == "if") return parse_if(line);
    if (tag == "for") return parse_for(line);
    if (tag == "set") return parse_set(line);
    if (tag == "macro") return parse_macro(line);
    if (tag == "break" || tag == "continue") {
      expect_end();
      ++seg_;
      return std::make_unique<LoopControlStmt>(line, tag == "break" ? Flow::kBreak : Flow::kContinue);
    }
    if (tag == "filter") return parse_filter_block(line);
    if (tag == "with") return parse_with(line);
    if (tag == "generation") {
      expect_end();
      ++seg_;
      auto stmt = std::make_unique<BlockStmt>(line);
      stmt->body = parse_closed_body("endgeneration");
      return stmt;
    }
    if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" || tag == "block") {
      fail(fmt::format("unsupported construct '{{% {} %}}': a chat template cannot load other templates", tag), line);
    }
    fail(fmt::format("unsupported construct '{{% {} %}}'", tag), line);
  }

  // Parses a body that must end with `end_tag` and consumes that tag.
  Body parse_closed_body(std::string_view end_tag) {
    std::string found;
    Body body = parse_body({end_tag}, found);
    begin_tag(segs_[seg_]);
    next();
    expect_end();
    ++seg_;
    return body;
  }

  StmtPtr parse_if(int line) {
    auto stmt = std::make_unique<IfStmt>(line);
    ExprPtr condition = parse_tuple(false, false, {});
    expect_end();
    ++seg_;
    for (;;) {
      std::string found;
      Body body = parse_body({"elif", "else", "endif"}, found);
      stmt->branches.emplace_back(std::move(condition), std::move(body));
      begin_tag(segs_[seg_]);
      next();
      if (found == "elif") {
        condition = parse_tuple(false, false, {});
        expect_end();
        ++seg_;
        continue;
      }
      expect_end();
      ++seg_;
      if (found == "else") stmt->otherwise = parse_closed_body("endif");
      return stmt;
    }
  }

  StmtPtr parse_for(int line) {
    auto stmt = std::make_unique<ForStmt>(line);
    stmt->targets = parse_targets({"in"});
    expect_name("in");
    stmt->iterable = parse_tuple(false, false, {"recursive", "if"});
    if (peek_name("if")) {
      next();
      stmt->filter = parse_expression(true);
    }
    if (peek_name("recursive")) fail("unsupported construct 'recursive' loop", peek().line);
    expect_end();
    ++seg_;
    std::string found;
    stmt->body = parse_body({"endfor", "else"}, found);
    begin_tag(segs_[seg_]);
    next();
    expect_end();
    ++seg_;
    if (found == "else") stmt->otherwise = parse_closed_body("endfor");
    return stmt;
  }

  StmtPtr parse_set(int line) {
    const Token& first = peek();
    if (first.type != TokenType::kName) fail("expected a name after 'set'", first.line);
    // `set ns.attr = ...` assigns into a namespace.
    if (peek(1).type == TokenType::kOperator && peek(1).text == ".") {
      const std::string ns = next().text;
      next();
      const Token& attr = next();
      if (attr.type != TokenType::kName) fail("expected an attribute name after '.'", attr.line);
      bound_.insert(ns);
      if (peek_operator("=")) {
        next();
        auto stmt = std::make_unique<SetStmt>(line);
        stmt->targets = {ns};
        stmt->attribute = attr.text;
        stmt->value = parse_tuple(false, true, {});
        expect_end();
        ++seg_;
        return stmt;
      }
      auto block = std::make_unique<SetBlockStmt>(line);
      block->target = ns;
      block->attribute = attr.text;
      return finish_set_block(std::move(block));
    }
    std::vector<std::string> targets = parse_targets({});
    if (peek_operator("=")) {
      next();
      auto stmt = std::make_unique<SetStmt>(line);
      stmt->targets = std::move(targets);
      stmt->value = parse_tuple(false, true, {});
      expect_end();
      ++seg_;
      return stmt;
    }
    if (targets.size() != 1) fail("a block 'set' takes one name", line);
    auto block = std::make_unique<SetBlockStmt>(line);
    block->target = targets[0];
    return finish_set_block(std::move(block));
  }

  StmtPtr finish_set_block(std::unique_ptr<SetBlockStmt> block) {
    while (peek_operator("|")) {
      next();
      block->filters.push_back(parse_filter_call(nullptr));
    }
    expect_end();
    ++seg_;
    block->body = parse_closed_body("endset");
    return block;
  }

  StmtPtr parse_macro(int line) {
    auto stmt = std::make_unique<MacroStmt>(line);
    const Token& name = next();
    if (name.type != TokenType::kName) fail("expected a macro name", name.line);
    stmt->name = name.text;
    bound_.insert(name.text);
    expect_operator("(");
    while (!peek_operator(")")) {
      if (!stmt->params.empty()) expect_operator(",");
      const Token& param = next();
      if (param.type != TokenType::kName) fail("expected a parameter name", param.line);
      bound_.insert(param.text);
      ExprPtr def;
      if (peek_operator("=")) {
        next();
        def = parse_expression(true);
      }
      stmt->params.emplace_back(param.text, std::move(def));
    }
    next();
    expect_end();
    ++seg_;
    stmt->body = parse_closed_body("endmacro");
    return stmt;
  }

  StmtPtr parse_filter_block(int line) {
    auto stmt = std::make_unique<FilterBlockStmt>(line);
    stmt->filters.push_back(parse_filter_call(nullptr));
    while (peek_operator("|")) {
      next();
      stmt->filters.push_back(parse_filter_call(nullptr));
    }
    expect_end();
    ++seg_;
    stmt->body = parse_closed_body("endfilter");
    return stmt;
  }

  StmtPtr parse_with(int line) {
    auto stmt = std::make_unique<WithStmt>(line);
    while (!at_end()) {
      if (!stmt->assignments.empty()) expect_operator(",");
      const Token& name = next();
      if (name.type != TokenType::kName) fail("expected a name in 'with'", name.line);
      bound_.insert(name.text);
      expect_operator("=");
      stmt->assignments.emplace_back(name.text, parse_expression(true));
    }
    ++seg_;
    stmt->body = parse_closed_body("endwith");
    return stmt;
  }

  // Names for `for` and `set`: `x`, `a, b` or `(a, b)`.
  std::vector<std::string> parse_targets(std::initializer_list<std::string_view> stop_names) {
    std::vector<std::string> names;
    const bool paren = peek_operator("(");
    if (paren) next();
    for (;;) {
      const Token& t = next();
      if (t.type != TokenType::kName) fail("expected a name to assign to", t.line);
      names.push_back(t.text);
      bound_.insert(t.text);
      if (!peek_operator(",")) break;
      next();
      bool stop = at_end() || (paren && peek_operator(")"));
      for (std::string_view s : stop_names) stop = stop || peek_name(s);
      if (stop) break;
    }
    if (paren) expect_operator(")");
    return names;
  }

  std::vector<Segment> segs_;
  size_t seg_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(lex_template(source)).parse(); }

}  // namespace kvtier::tokenizer::jinja
