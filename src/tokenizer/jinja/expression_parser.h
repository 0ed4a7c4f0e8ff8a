#pragma once
// Parses the expressions inside template tags with Jinja2's grammar and precedence (lowest
// first): conditional, or, and, not, comparisons and `in`, + -, ~, * / // %, **, unary - +,
// then primaries with attributes, subscripts, calls, filters and tests. Unknown filters, tests
// and methods are refused here, at load.
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/token_cursor.h"

namespace kvtier::tokenizer::jinja {

class ExpressionParser : public TokenCursor {
 protected:
  ExprPtr parse_expression(bool with_condition);
  // Comma-separated expressions: a tuple when there is a comma, else the one expression.
  ExprPtr parse_tuple(bool simplified, bool with_condition, std::initializer_list<std::string_view> end_names,
                      bool explicit_parens = false);
  std::unique_ptr<FilterExpr> parse_filter_call(ExprPtr input);
  // Calls of plain names must reach a global function or something the template binds (a
  // macro, or a variable that may hold one); checked once the whole template is read.
  void check_calls() const;

  std::set<std::string, std::less<>> bound_;  // names the template assigns anywhere
  std::vector<std::pair<std::string, int>> called_;  // plain-name calls and their lines

 private:
  ExprPtr parse_condition();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr object);
  ArgExprs parse_call_args();
  ExprPtr parse_call(ExprPtr callee);
  ExprPtr parse_filter_chain(ExprPtr node);
  ExprPtr parse_test(ExprPtr input);
};

}  // namespace kvtier::tokenizer::jinja
