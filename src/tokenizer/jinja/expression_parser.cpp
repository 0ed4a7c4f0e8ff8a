#include "tokenizer/jinja/expression_parser.h"

#include <fmt/format.h>

#include "tokenizer/jinja/builtins.h"

namespace kvtier::tokenizer::jinja {

ExprPtr ExpressionParser::parse_expression(bool with_condition) {
  return with_condition ? parse_condition() : parse_or();
}

ExprPtr ExpressionParser::parse_condition() {
  ExprPtr expr = parse_or();
  while (peek_name("if")) {
    const int line = next().line;
    auto cond = std::make_unique<CondExpr>(line);
    cond->then = std::move(expr);
    cond->condition = parse_or();
    if (peek_name("else")) {
      next();
      cond->otherwise = parse_condition();
    }
    expr = std::move(cond);
  }
  return expr;
}

ExprPtr ExpressionParser::parse_or() {
  ExprPtr left = parse_and();
  while (peek_name("or")) {
    const int line = next().line;
    left = std::make_unique<BinaryExpr>(line, BinaryExpr::Op::kOr, std::move(left), parse_and());
  }
  return left;
}

ExprPtr ExpressionParser::parse_and() {
  ExprPtr left = parse_not();
  while (peek_name("and")) {
    const int line = next().line;
    left = std::make_unique<BinaryExpr>(line, BinaryExpr::Op::kAnd, std::move(left), parse_not());
  }
  return left;
}

ExprPtr ExpressionParser::parse_not() {
  if (peek_name("not")) {
    const int line = next().line;
    return std::make_unique<UnaryExpr>(line, UnaryExpr::Op::kNot, parse_not());
  }
  return parse_compare();
}

ExprPtr ExpressionParser::parse_compare() {
  ExprPtr first = parse_math1();
  std::unique_ptr<CompareExpr> cmp;
  for (;;) {
    std::optional<CompareExpr::Op> op;
    const Token& t = peek();
    if (t.type == TokenType::kOperator) {
      if (t.text == "==") op = CompareExpr::Op::kEq;
      else if (t.text == "!=") op = CompareExpr::Op::kNe;
      else if (t.text == "<") op = CompareExpr::Op::kLt;
      else if (t.text == "<=") op = CompareExpr::Op::kLe;
      else if (t.text == ">") op = CompareExpr::Op::kGt;
      else if (t.text == ">=") op = CompareExpr::Op::kGe;
      if (op) next();
    } else if (peek_name("in")) {
      next();
      op = CompareExpr::Op::kIn;
    } else if (peek_name("not") && peek(1).type == TokenType::kName && peek(1).text == "in") {
      next();
      next();
      op = CompareExpr::Op::kNotIn;
    }
    if (!op) break;
    if (!cmp) {
      cmp = std::make_unique<CompareExpr>(first->line);
      cmp->first = std::move(first);
    }
    cmp->rest.emplace_back(*op, parse_math1());
  }
  if (cmp) return cmp;
  return first;
}

ExprPtr ExpressionParser::parse_math1() {
  ExprPtr left = parse_concat();
  while (peek_operator("+") || peek_operator("-")) {
    const Token& t = next();
    const auto op = t.text == "+" ? BinaryExpr::Op::kAdd : BinaryExpr::Op::kSub;
    left = std::make_unique<BinaryExpr>(t.line, op, std::move(left), parse_concat());
  }
  return left;
}

ExprPtr ExpressionParser::parse_concat() {
  ExprPtr left = parse_math2();
  while (peek_operator("~")) {
    const int line = next().line;
    left = std::make_unique<BinaryExpr>(line, BinaryExpr::Op::kConcat, std::move(left), parse_math2());
  }
  return left;
}

ExprPtr ExpressionParser::parse_math2() {
  ExprPtr left = parse_pow();
  for (;;) {
    std::optional<BinaryExpr::Op> op;
    if (peek_operator("*")) op = BinaryExpr::Op::kMul;
    else if (peek_operator("/")) op = BinaryExpr::Op::kDiv;
    else if (peek_operator("//")) op = BinaryExpr::Op::kFloorDiv;
    else if (peek_operator("%")) op = BinaryExpr::Op::kMod;
    if (!op) return left;
    const int line = next().line;
    left = std::make_unique<BinaryExpr>(line, *op, std::move(left), parse_pow());
  }
}

ExprPtr ExpressionParser::parse_pow() {
  ExprPtr left = parse_unary(true);
  while (peek_operator("**")) {
    const int line = next().line;
    left = std::make_unique<BinaryExpr>(line, BinaryExpr::Op::kPow, std::move(left), parse_unary(true));
  }
  return left;
}

ExprPtr ExpressionParser::parse_unary(bool with_filter) {
  ExprPtr node;
  if (peek_operator("-") || peek_operator("+")) {
    const Token& t = next();
    node = std::make_unique<UnaryExpr>(t.line, t.text == "-" ? UnaryExpr::Op::kNeg : UnaryExpr::Op::kPos,
                                       parse_unary(false));
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_chain(std::move(node));
  return node;
}

ExprPtr ExpressionParser::parse_primary() {
  const Token& t = next();
  switch (t.type) {
    case TokenType::kName:
      if (t.text == "true" || t.text == "True") return std::make_unique<Literal>(t.line, Value(true));
      if (t.text == "false" || t.text == "False") return std::make_unique<Literal>(t.line, Value(false));
      if (t.text == "none" || t.text == "None") return std::make_unique<Literal>(t.line, Value::none());
      return std::make_unique<NameExpr>(t.line, t.text);
    case TokenType::kString: {
      std::string s = t.text;
      while (peek().type == TokenType::kString) s += next().text;  // adjacent literals join
      return std::make_unique<Literal>(t.line, Value(std::move(s)));
    }
    case TokenType::kInteger:
      return std::make_unique<Literal>(t.line, Value(t.integer));
    case TokenType::kFloat:
      return std::make_unique<Literal>(t.line, Value(t.number));
    case TokenType::kOperator:
      if (t.text == "(") {
        ExprPtr e = parse_tuple(false, true, {}, true);
        expect_operator(")");
        return e;
      }
      if (t.text == "[") {
        auto list = std::make_unique<ListExpr>(t.line, false);
        while (!peek_operator("]")) {
          if (!list->items.empty()) expect_operator(",");
          if (peek_operator("]")) break;
          list->items.push_back(parse_expression(true));
        }
        next();
        return list;
      }
      if (t.text == "{") {
        auto dict = std::make_unique<DictExpr>(t.line);
        while (!peek_operator("}")) {
          if (!dict->items.empty()) expect_operator(",");
          if (peek_operator("}")) break;
          ExprPtr key = parse_expression(true);
          expect_operator(":");
          dict->items.emplace_back(std::move(key), parse_expression(true));
        }
        next();
        return dict;
      }
      break;
  }
  fail(fmt::format("unexpected '{}'", t.text), t.line);
}

ExprPtr ExpressionParser::parse_tuple(bool simplified, bool with_condition, std::initializer_list<std::string_view> end_names,
                    bool explicit_parens) {
  const int line = peek().line;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  for (;;) {
    if (!items.empty()) expect_operator(",");
    bool end = at_end() || peek_operator(")");
    for (std::string_view n : end_names) end = end || peek_name(n);
    if (end) break;
    items.push_back(simplified ? parse_primary() : parse_expression(with_condition));
    if (peek_operator(",")) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) fail("expected an expression", line);
  }
  auto tuple = std::make_unique<ListExpr>(line, true);
  tuple->items = std::move(items);
  return tuple;
}

ExprPtr ExpressionParser::parse_postfix(ExprPtr node) {
  for (;;) {
    if (peek_operator(".")) {
      const int line = next().line;
      const Token& t = next();
      if (t.type == TokenType::kName) {
        node = std::make_unique<AttrExpr>(line, std::move(node), t.text);
      } else if (t.type == TokenType::kInteger) {
        node = std::make_unique<ItemExpr>(line, std::move(node), std::make_unique<Literal>(line, Value(t.integer)));
      } else {
        fail("expected an attribute name after '.'", t.line);
      }
    } else if (peek_operator("[")) {
      node = parse_subscript(std::move(node));
    } else if (peek_operator("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr ExpressionParser::parse_subscript(ExprPtr object) {
  const int line = next().line;  // '['
  ExprPtr start;
  if (!peek_operator(":")) {
    start = parse_expression(true);
    if (!peek_operator(":")) {
      if (peek_operator(",")) fail("unsupported construct: tuple subscript", line);
      expect_operator("]");
      return std::make_unique<ItemExpr>(line, std::move(object), std::move(start));
    }
  }
  auto slice = std::make_unique<SliceExpr>(line);
  slice->object = std::move(object);
  slice->start = std::move(start);
  next();  // ':'
  if (!peek_operator(":") && !peek_operator("]")) slice->stop = parse_expression(true);
  if (peek_operator(":")) {
    next();
    if (!peek_operator("]")) slice->step = parse_expression(true);
  }
  expect_operator("]");
  return slice;
}

ArgExprs ExpressionParser::parse_call_args() {
  expect_operator("(");
  ArgExprs args;
  while (!peek_operator(")")) {
    if (!args.positional.empty() || !args.keyword.empty()) expect_operator(",");
    if (peek_operator(")")) break;
    if (peek_operator("*") || peek_operator("**")) fail("unsupported construct: *args or **kwargs in a call", peek().line);
    if (peek().type == TokenType::kName && peek(1).type == TokenType::kOperator && peek(1).text == "=") {
      std::string key = next().text;
      next();
      args.keyword.emplace_back(std::move(key), parse_expression(true));
    } else {
      if (!args.keyword.empty()) fail("positional argument after keyword argument", peek().line);
      args.positional.push_back(parse_expression(true));
    }
  }
  next();
  return args;
}

ExprPtr ExpressionParser::parse_call(ExprPtr callee) {
  const int line = peek().line;
  // What can be called is known at load: a method of str/dict/loop, a global, or a macro.
  if (auto* attr = dynamic_cast<AttrExpr*>(callee.get())) {
    if (!is_known_method(attr->name)) fail(fmt::format("unsupported method '{}()'", attr->name), line);
  } else if (auto* name = dynamic_cast<NameExpr*>(callee.get())) {
    called_.emplace_back(name->name, line);
  }
  auto call = std::make_unique<CallExpr>(line);
  call->callee = std::move(callee);
  call->args = parse_call_args();
  return call;
}

ExprPtr ExpressionParser::parse_filter_chain(ExprPtr node) {
  for (;;) {
    if (peek_operator("|")) {
      next();
      node = parse_filter_call(std::move(node));
    } else if (peek_name("is")) {
      node = parse_test(std::move(node));
    } else if (peek_operator("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

std::unique_ptr<FilterExpr> ExpressionParser::parse_filter_call(ExprPtr input) {
  const Token& t = next();
  if (t.type != TokenType::kName) fail("expected a filter name after '|'", t.line);
  auto filter = std::make_unique<FilterExpr>(t.line);
  filter->input = std::move(input);
  filter->name = t.text;
  filter->fn = find_filter(t.text);
  if (filter->fn == nullptr) fail(fmt::format("unsupported filter '{}'", t.text), t.line);
  if (peek_operator("(")) filter->args = parse_call_args();
  return filter;
}

ExprPtr ExpressionParser::parse_test(ExprPtr input) {
  const int line = next().line;  // 'is'
  bool negated = false;
  if (peek_name("not")) {
    next();
    negated = true;
  }
  const Token& t = next();
  if (t.type != TokenType::kName) fail("expected a test name after 'is'", t.line);
  auto test = std::make_unique<TestExpr>(line);
  test->input = std::move(input);
  test->name = t.text;
  test->fn = find_test(t.text);
  if (test->fn == nullptr) fail(fmt::format("unsupported test '{}'", t.text), t.line);
  if (peek_operator("(")) {
    test->args = parse_call_args();
  } else {
    // One argument without parentheses: `is divisibleby 3`, `is sameas none`.
    const Token& a = peek();
    const bool arg_start = a.type == TokenType::kString || a.type == TokenType::kInteger ||
                           a.type == TokenType::kFloat ||
                           (a.type == TokenType::kName && a.text != "else" && a.text != "or" &&
                            a.text != "and" && a.text != "if" && a.text != "is") ||
                           (a.type == TokenType::kOperator && (a.text == "[" || a.text == "{"));
    if (!at_end() && arg_start) test->args.positional.push_back(parse_postfix(parse_primary()));
  }
  if (negated) return std::make_unique<UnaryExpr>(line, UnaryExpr::Op::kNot, std::move(test));
  return test;
}

void ExpressionParser::check_calls() const {
  for (const auto& [name, line] : called_) {
    if (!is_global_function(name) && bound_.count(name) == 0) {
      fail(fmt::format("unsupported function '{}()'", name), line);
    }
  }
}

}  // namespace kvtier::tokenizer::jinja
