// Jinja2's built-in tests (`x is defined`, `x is string`...).
#include <map>

#include "tokenizer/jinja/args.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/operators.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer::jinja {
namespace {

using K = Value::Kind;

const Value& other(const CallArgs& args, const char* name) {
  Args a(args, name, {"other"});
  return a.required(0);
}

bool no_args(const CallArgs& args, const char* name) {
  Args a(args, name, {});
  return true;
}

bool defined(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "defined") && !v.is_undefined(); }
bool undefined(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "undefined") && v.is_undefined(); }
bool none(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "none") && v.is_none(); }
bool boolean(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "boolean") && v.is_bool(); }
bool true_(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "true") && v.is_bool() && v.as_bool(); }
bool false_(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "false") && v.is_bool() && !v.as_bool(); }
bool integer(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "integer") && v.is_int(); }
bool float_(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "float") && v.is_float(); }
bool number(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "number") && v.is_number(); }
bool string(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "string") && v.is_string(); }
bool mapping(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "mapping") && v.is_dict(); }
// Python: anything iter() accepts; Jinja's Undefined iterates as empty.
bool iterable(Interpreter&, const Value& v, CallArgs& c) {
  return no_args(c, "iterable") && (v.is_undefined() || v.is_string() || v.is_list() || v.is_dict());
}
// Python: anything with len() and __getitem__.
bool sequence(Interpreter&, const Value& v, CallArgs& c) {
  return no_args(c, "sequence") && (v.is_undefined() || v.is_string() || v.is_list() || v.is_dict());
}
// Undefined counts: calling it is what fails.
bool callable(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "callable") && (v.is_callable() || v.is_undefined()); }
bool escaped(Interpreter&, const Value&, CallArgs& c) { return !no_args(c, "escaped"); }

int64_t integer_of(const Value& v, const char* test) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number()) throw TemplateError(std::string("test '") + test + "' needs a number");
  return v.is_float() ? static_cast<int64_t>(v.as_double()) : v.as_int();
}

bool odd(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "odd") && integer_of(v, "odd") % 2 != 0; }
bool even(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "even") && integer_of(v, "even") % 2 == 0; }
bool divisibleby(Interpreter&, const Value& v, CallArgs& c) {
  Args a(c, "divisibleby", {"num"});
  return !modulo(v, a.required(0)).truthy();
}

bool eq(Interpreter&, const Value& v, CallArgs& c) { return equals(v, other(c, "eq")); }
bool ne(Interpreter&, const Value& v, CallArgs& c) { return !equals(v, other(c, "ne")); }
bool lt(Interpreter&, const Value& v, CallArgs& c) { return compare(v, other(c, "lt")) < 0; }
bool le(Interpreter&, const Value& v, CallArgs& c) { return compare(v, other(c, "le")) <= 0; }
bool gt(Interpreter&, const Value& v, CallArgs& c) { return compare(v, other(c, "gt")) > 0; }
bool ge(Interpreter&, const Value& v, CallArgs& c) { return compare(v, other(c, "ge")) >= 0; }
bool in(Interpreter&, const Value& v, CallArgs& c) {
  Args a(c, "in", {"seq"});
  return contains(a.required(0), v);
}
// Python's `is`: the same None/bool, equal numbers and strings stand in for identity.
bool sameas(Interpreter&, const Value& v, CallArgs& c) {
  const Value& o = other(c, "sameas");
  if (v.kind() != o.kind()) return false;
  if (v.is_list() || v.is_dict()) return false;
  return equals(v, o);
}

bool cased_all(const Value& v, bool want_upper) {
  const std::string s = to_str(v);
  bool cased = false;
  size_t i = 0;
  while (i < s.size()) {
    const char32_t cp = next_code_point(s, i);
    if (want_upper ? is_lower(cp) : is_upper(cp)) return false;
    cased = cased || (want_upper ? is_upper(cp) : is_lower(cp));
  }
  return cased;
}
bool lower(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "lower") && cased_all(v, false); }
bool upper(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "upper") && cased_all(v, true); }

bool filter(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "filter") && v.is_string() && find_filter(v.as_string()) != nullptr; }
bool test(Interpreter&, const Value& v, CallArgs& c) { return no_args(c, "test") && v.is_string() && find_test(v.as_string()) != nullptr; }

const std::map<std::string_view, TestFn, std::less<>>& tests() {
  static const std::map<std::string_view, TestFn, std::less<>> table = {
      {"defined", defined}, {"undefined", undefined}, {"none", none},       {"boolean", boolean},
      {"true", true_},      {"false", false_},        {"integer", integer}, {"float", float_},
      {"number", number},   {"string", string},       {"mapping", mapping}, {"iterable", iterable},
      {"sequence", sequence}, {"callable", callable}, {"escaped", escaped}, {"odd", odd},
      {"even", even},       {"divisibleby", divisibleby}, {"eq", eq},       {"equalto", eq},
      {"==", eq},           {"ne", ne},               {"!=", ne},           {"lt", lt},
      {"lessthan", lt},     {"<", lt},                {"le", le},           {"<=", le},
      {"gt", gt},           {"greaterthan", gt},      {">", gt},            {"ge", ge},
      {">=", ge},           {"in", in},               {"sameas", sameas},   {"lower", lower},
      {"upper", upper},     {"filter", filter},       {"test", test},
  };
  return table;
}

}  // namespace

TestFn find_test(std::string_view name) {
  auto it = tests().find(name);
  return it == tests().end() ? nullptr : it->second;
}

}  // namespace kvtier::tokenizer::jinja
