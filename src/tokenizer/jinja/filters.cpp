// Jinja2's built-in filters, with transformers' tojson.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "tokenizer/jinja/args.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/json_dump.h"
#include "tokenizer/jinja/operators.h"
#include "tokenizer/jinja/py_string.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer::jinja {
namespace {

Value length(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "length", {});
  switch (v.kind()) {
    case Value::Kind::kUndefined: return Value(int64_t{0});
    case Value::Kind::kString: return Value(static_cast<int64_t>(py_len(v.as_string())));
    case Value::Kind::kList: return Value(static_cast<int64_t>(v.as_list().size()));
    case Value::Kind::kDict: return Value(static_cast<int64_t>(v.as_dict().size()));
    default: throw TemplateError(fmt::format("object of type '{}' has no len()", v.type_name()));
  }
}

Value tojson(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonDumpOptions o;
  o.ensure_ascii = a.flag(0, false);
  const Value indent = a.get(1);
  if (indent.is_int()) o.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), ' ');
  else if (indent.is_string()) o.indent = indent.as_string();
  else if (!indent.is_none()) throw TemplateError("tojson(): indent must be an integer or a string");
  const Value seps = a.get(2);
  if (seps.is_list()) {
    if (seps.as_list().size() != 2 || !seps.as_list()[0].is_string() || !seps.as_list()[1].is_string()) {
      throw TemplateError("tojson(): separators must be a pair of strings");
    }
    o.item_separator = seps.as_list()[0].as_string();
    o.key_separator = seps.as_list()[1].as_string();
  }
  o.sort_keys = a.flag(3, false);
  return Value(json_dumps(v, o));
}

Value trim(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "trim", {"chars"});
  std::optional<std::string> chars;
  if (a.has(0) && !a.get(0).is_none()) chars = a.string(0, "");
  return Value(py_strip(to_str(v), chars, true, true));
}

Value upper(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "upper", {});
  return Value(to_upper(to_str(v)));
}

Value lower(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "lower", {});
  return Value(to_lower(to_str(v)));
}

Value default_(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "default", {"default_value", "boolean"});
  if (v.is_undefined() || (a.flag(1, false) && !v.truthy())) return a.get(0, Value(std::string()));
  return v;
}

Value attribute_of(const Value& item, const std::string& path) {
  // Jinja's attribute= accepts dotted paths and integer parts ("a.0.b").
  Value v = item;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    v = numeric ? get_item(v, Value(static_cast<int64_t>(std::stoll(part)))) : get_item(v, Value(part));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return v;
}

Value join(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "join", {"d", "attribute"});
  const std::string sep = a.has(0) ? to_str(a.get(0)) : "";
  std::string out;
  bool first = true;
  for (const Value& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += to_str(a.has(1) ? attribute_of(item, to_str(a.get(1))) : item);
  }
  return Value(std::move(out));
}

Value first(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "first", {});
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value last(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "last", {});
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value list(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "list", {});
  return Value::list(iterate(v));
}

Value items(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "items", {});
  if (v.is_undefined()) return Value::list({});
  if (!v.is_dict()) throw TemplateError("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, item] : v.as_dict().entries()) out.push_back(Value::tuple({Value(k), item}));
  return Value::list(std::move(out));
}

Value reverse(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "reverse", {});
  if (v.is_string()) return slice_value(v, std::nullopt, std::nullopt, -1);
  std::vector<Value> out = iterate(v);
  std::reverse(out.begin(), out.end());
  return Value::list(std::move(out));
}

Value replace(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "replace", {"old", "new", "count"});
  return Value(py_replace(to_str(v), to_str(a.required(0)), to_str(a.required(1)), a.integer(2, -1)));
}

Value string(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "string", {});
  return Value(to_str(v));
}

Value int_(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "int", {"default", "base"});
  const Value fallback = a.get(0, Value(int64_t{0}));
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return std::isfinite(v.as_double()) ? Value(static_cast<int64_t>(v.as_double())) : fallback;
  if (!v.is_string()) return fallback;
  const std::string s = py_strip(v.as_string(), std::nullopt, true, true);
  const int base = static_cast<int>(a.integer(1, 10));
  try {
    size_t used = 0;
    std::string digits = s;
    if (base == 16 && (digits.rfind("0x", 0) == 0 || digits.rfind("0X", 0) == 0)) digits = digits.substr(2);
    const long long n = std::stoll(digits, &used, base);
    if (used == digits.size()) return Value(static_cast<int64_t>(n));
  } catch (const std::exception&) {
  }
  try {
    size_t used = 0;
    const double d = std::stod(s, &used);
    if (used == s.size() && std::isfinite(d)) return Value(static_cast<int64_t>(d));
  } catch (const std::exception&) {
  }
  return fallback;
}

Value float_(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "float", {"default"});
  if (v.is_number()) return Value(v.as_double());
  if (v.is_string()) {
    const std::string s = py_strip(v.as_string(), std::nullopt, true, true);
    try {
      size_t used = 0;
      const double d = std::stod(s, &used);
      if (used == s.size()) return Value(d);
    } catch (const std::exception&) {
    }
  }
  return a.get(0, Value(0.0));
}

Value identity(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "safe", {});
  return v;
}

Value capitalize(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "capitalize", {});
  return Value(py_capitalize(to_str(v)));
}

Value title(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "title", {});
  return Value(jinja_title(to_str(v)));
}

// Python's round(): correctly rounded, ties to even, on the exact binary value (which printf's
// %.Nf also rounds).
double py_round(double x, int64_t digits) {
  if (!std::isfinite(x)) return x;
  if (digits >= 0) {
    char buf[400];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(std::min<int64_t>(digits, 300)), x);
    return std::strtod(buf, nullptr);
  }
  const double scale = std::pow(10.0, static_cast<double>(-digits));
  return std::nearbyint(x / scale) * scale;
}

Value round(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "round", {"precision", "method"});
  const int64_t precision = a.integer(0, 0);
  const std::string method = a.string(1, "common");
  if (!v.is_number()) throw TemplateError(fmt::format("round(): '{}' is not a number", v.type_name()));
  if (method == "common") {
    if (!v.is_float() && precision >= 0) return Value(v.as_int());
    return Value(py_round(v.as_double(), precision));
  }
  if (method != "ceil" && method != "floor") throw TemplateError("method must be common, ceil or floor");
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_double() * scale;
  return Value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value abs_(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "abs", {});
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_number()) return v.as_int() < 0 ? negate(v) : Value(v.as_int());
  throw TemplateError(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
}

bool run_test(Interpreter& in, const Value& item, const std::string& name, const std::vector<Value>& extra) {
  TestFn test = find_test(name);
  if (test == nullptr) throw TemplateError(fmt::format("no test named '{}'", name));
  CallArgs call;
  call.positional = extra;
  return test(in, item, call);
}

Value map(Interpreter& in, const Value& v, CallArgs& args) {
  std::vector<Value> out;
  std::optional<std::string> attribute;
  Value fallback;
  for (const auto& [k, value] : args.keyword) {
    if (k == "attribute") attribute = to_str(value);
    else if (k == "default") fallback = value;
    else throw TemplateError(fmt::format("map() got an unexpected keyword argument '{}'", k));
  }
  if (attribute) {
    for (const Value& item : iterate(v)) {
      Value x = attribute_of(item, *attribute);
      out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
    }
    return Value::list(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) throw TemplateError("map(): expected a filter name or attribute=");
  FilterFn filter = find_filter(args.positional[0].as_string());
  if (filter == nullptr) throw TemplateError(fmt::format("no filter named '{}'", args.positional[0].as_string()));
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  for (const Value& item : iterate(v)) {
    CallArgs copy = rest;
    out.push_back(filter(in, item, copy));
  }
  return Value::list(std::move(out));
}

Value select_items(Interpreter& in, const Value& v, CallArgs& args, bool keep, bool by_attribute) {
  std::vector<Value> out;
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty()) throw TemplateError("selectattr()/rejectattr() need an attribute name");
    attribute = to_str(args.positional[next++]);
  }
  std::optional<std::string> test;
  if (next < args.positional.size()) test = to_str(args.positional[next++]);
  const std::vector<Value> extra(args.positional.begin() + static_cast<ptrdiff_t>(next), args.positional.end());
  for (const Value& item : iterate(v)) {
    const Value subject = by_attribute ? attribute_of(item, attribute) : item;
    const bool passed = test ? run_test(in, subject, *test, extra) : subject.truthy();
    if (passed == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value select(Interpreter& in, const Value& v, CallArgs& args) { return select_items(in, v, args, true, false); }
Value reject(Interpreter& in, const Value& v, CallArgs& args) { return select_items(in, v, args, false, false); }
Value selectattr(Interpreter& in, const Value& v, CallArgs& args) { return select_items(in, v, args, true, true); }
Value rejectattr(Interpreter& in, const Value& v, CallArgs& args) { return select_items(in, v, args, false, true); }

// The key sort/unique/min/max compare by: an attribute, lower-cased strings unless case-sensitive.
Value sort_key(const Value& item, const Value& attribute, bool case_sensitive) {
  Value k = attribute.is_none() ? item : attribute_of(item, to_str(attribute));
  if (!case_sensitive && k.is_string()) return Value(to_lower(k.as_string()));
  return k;
}

Value unique(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "unique", {"case_sensitive", "attribute"});
  std::vector<Value> out;
  std::vector<Value> seen;
  for (const Value& item : iterate(v)) {
    Value key = sort_key(item, a.get(1), a.flag(0, false));
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::list(std::move(out));
}

Value sort(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "sort", {"reverse", "case_sensitive", "attribute"});
  std::vector<Value> items = iterate(v);
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& item : items) keyed.emplace_back(sort_key(item, a.get(2), a.flag(1, false)), std::move(item));
  const bool rev = a.flag(0, false);
  std::stable_sort(keyed.begin(), keyed.end(), [rev](const auto& x, const auto& y) {
    return rev ? compare(y.first, x.first) < 0 : compare(x.first, y.first) < 0;
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::list(std::move(out));
}

Value dictsort(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "dictsort", {"case_sensitive", "by", "reverse"});
  if (!v.is_dict()) throw TemplateError("dictsort(): expected a mapping");
  const bool by_value = a.string(1, "key") == "value";
  std::vector<Value> pairs;
  for (const auto& [k, item] : v.as_dict().entries()) pairs.push_back(Value::tuple({Value(k), item}));
  const bool cs = a.flag(0, false);
  const bool rev = a.flag(2, false);
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    Value kx = sort_key(x.as_list()[by_value ? 1 : 0], Value::none(), cs);
    Value ky = sort_key(y.as_list()[by_value ? 1 : 0], Value::none(), cs);
    return rev ? compare(ky, kx) < 0 : compare(kx, ky) < 0;
  });
  return Value::list(std::move(pairs));
}

Value extreme(const Value& v, CallArgs& args, const char* name, bool want_max) {
  Args a(args, name, {"case_sensitive", "attribute"});
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined(fmt::format("No aggregated item, sequence was empty."));
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    const int c = compare(sort_key(items[i], a.get(1), a.flag(0, false)), sort_key(items[best], a.get(1), a.flag(0, false)));
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}

Value min(Interpreter&, const Value& v, CallArgs& args) { return extreme(v, args, "min", false); }
Value max(Interpreter&, const Value& v, CallArgs& args) { return extreme(v, args, "max", true); }

Value sum(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "sum", {"attribute", "start"});
  Value total = a.get(1, Value(int64_t{0}));
  for (const Value& item : iterate(v)) total = add(total, a.has(0) ? attribute_of(item, to_str(a.get(0))) : item);
  return total;
}

Value indent(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "indent", {"width", "first", "blank"});
  const Value width = a.get(0, Value(int64_t{4}));
  const std::string pad = width.is_string() ? width.as_string() : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  std::vector<std::string> lines = py_splitlines(to_str(v) + "\n", false);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += "\n";
      if (a.flag(2, false) || !lines[i].empty()) out += pad;
    }
    out += lines[i];
  }
  if (a.flag(1, false)) out = pad + out;
  return Value(std::move(out));
}

Value center(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "center", {"width"});
  return Value(py_pad(to_str(v), a.integer(0, 80), " ", '^'));
}

Value wordcount(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "wordcount", {});
  int64_t n = 0;
  bool in_word = false;
  const std::string text = to_str(v);
  for (std::string_view ch : code_points(text)) {
    size_t i = 0;
    const char32_t cp = next_code_point(ch, i);
    const bool word = is_alnum(cp) || cp == '_';
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value(n);
}

Value escape(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "escape", {});
  std::string out;
  for (char c : to_str(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value(std::move(out));
}

Value batch(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "batch", {"linecount", "fill_with"});
  const int64_t n = a.integer(0, 0);
  if (n <= 0) throw TemplateError("batch(): linecount must be positive");
  std::vector<Value> out;
  std::vector<Value> current;
  for (const Value& item : iterate(v)) {
    current.push_back(item);
    if (static_cast<int64_t>(current.size()) == n) {
      out.push_back(Value::list(std::move(current)));
      current.clear();
    }
  }
  if (!current.empty()) {
    if (a.has(1)) {
      while (static_cast<int64_t>(current.size()) < n) current.push_back(a.get(1));
    }
    out.push_back(Value::list(std::move(current)));
  }
  return Value::list(std::move(out));
}

Value attr(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "attr", {"name"});
  return get_attribute(v, a.string(0, ""));
}

Value format(Interpreter&, const Value& v, CallArgs& args) {
  return Value(percent_format(to_str(v), Value::tuple(args.positional)));
}

Value pprint(Interpreter&, const Value& v, CallArgs& args) {
  Args a(args, "pprint", {});
  return Value(repr(v));
}

const std::map<std::string_view, FilterFn, std::less<>>& filters() {
  static const std::map<std::string_view, FilterFn, std::less<>> table = {
      {"abs", abs_},       {"attr", attr},         {"batch", batch},       {"capitalize", capitalize},
      {"center", center},  {"count", length},      {"d", default_},        {"default", default_},
      {"dictsort", dictsort}, {"e", escape},       {"escape", escape},     {"first", first},
      {"float", float_},   {"format", format},     {"indent", indent},     {"int", int_},
      {"items", items},    {"join", join},         {"last", last},         {"length", length},
      {"list", list},      {"lower", lower},       {"map", map},           {"max", max},
      {"min", min},        {"pprint", pprint},     {"reject", reject},     {"rejectattr", rejectattr},
      {"replace", replace}, {"reverse", reverse},  {"round", round},       {"safe", identity},
      {"select", select},  {"selectattr", selectattr}, {"sort", sort},     {"string", string},
      {"sum", sum},        {"title", title},       {"tojson", tojson},     {"trim", trim},
      {"unique", unique},  {"upper", upper},       {"wordcount", wordcount},
  };
  return table;
}

}  // namespace

FilterFn find_filter(std::string_view name) {
  auto it = filters().find(name);
  return it == filters().end() ? nullptr : it->second;
}

}  // namespace kvtier::tokenizer::jinja
