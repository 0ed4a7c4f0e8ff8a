// Attribute and item access, and the str / dict methods templates call.
#include <set>

#include <fmt/format.h>

#include "tokenizer/jinja/args.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/py_string.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer::jinja {
namespace {

using Method = Value (*)(const Value& self, const CallArgs& args);

Value string_list(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.emplace_back(std::move(p));
  return Value::list(std::move(items));
}

std::optional<std::string> optional_string(const Args& a, size_t i) {
  if (!a.has(i) || a.get(i).is_none()) return std::nullopt;
  return a.string(i, "");
}

// A prefix argument of startswith/endswith: a string or a tuple of strings.
bool affix_matches(const Value& affix, std::string_view s, bool prefix) {
  auto one = [&](const Value& v) {
    if (!v.is_string()) throw TemplateError(fmt::format("startswith/endswith first arg must be str or a tuple of str, not {}", v.type_name()));
    const std::string& a = v.as_string();
    if (a.size() > s.size()) return false;
    return prefix ? s.substr(0, a.size()) == a : s.substr(s.size() - a.size()) == a;
  };
  if (affix.is_tuple()) {
    for (const Value& v : affix.as_list()) {
      if (one(v)) return true;
    }
    return false;
  }
  return one(affix);
}

template <bool (*Pred)(char32_t)>
Value all_chars(const Value& self, const CallArgs& args) {
  Args a(args, "is*", {});
  const std::string& s = self.as_string();
  if (s.empty()) return Value(false);
  size_t i = 0;
  while (i < s.size()) {
    if (!Pred(next_code_point(s, i))) return Value(false);
  }
  return Value(true);
}

bool is_alpha(char32_t cp) { return is_alnum(cp) && !is_decimal(cp) && !(cp >= 0x30 && cp <= 0x39); }

// str.format with automatic ({}), numbered ({0}) and named ({name}) fields, !r/!s conversions and
// format specs, which fmt shares with Python for strings and numbers.
std::string str_format(const std::string& f, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}' ) {
      if (i + 1 < f.size() && f[i + 1] == '}') ++i;
      else throw TemplateError("Single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = f.find('}', i);
    if (close == std::string::npos) throw TemplateError("Single '{' encountered in format string");
    std::string field = f.substr(i + 1, close - i - 1);
    i = close;
    std::string spec;
    if (const size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    char conversion = 0;
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      conversion = bang + 1 < field.size() ? field[bang + 1] : 0;
      field.resize(bang);
    }
    const Value* v = nullptr;
    if (field.empty()) {
      if (auto_index >= args.positional.size()) throw TemplateError("Replacement index out of range for positional args tuple");
      v = &args.positional[auto_index++];
    } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
      const size_t k = std::stoul(field);
      if (k >= args.positional.size()) throw TemplateError("Replacement index out of range for positional args tuple");
      v = &args.positional[k];
    } else {
      for (const auto& [key, value] : args.keyword) {
        if (key == field) v = &value;
      }
      if (v == nullptr) throw TemplateError(fmt::format("format(): no argument named '{}'", field));
    }
    if (conversion == 'r') {
      out += fmt::format(fmt::runtime("{:" + spec + "}"), repr(*v));
    } else if (v->is_int() && !spec.empty()) {
      out += fmt::format(fmt::runtime("{:" + spec + "}"), v->as_int());
    } else if (v->is_float() && !spec.empty()) {
      out += fmt::format(fmt::runtime("{:" + spec + "}"), v->as_double());
    } else {
      out += fmt::format(fmt::runtime("{:" + spec + "}"), to_str(*v));
    }
  }
  return out;
}

struct NamedMethod {
  const char* name;
  Method fn;
};

const NamedMethod kStringMethods[] = {
    {"startswith", [](const Value& s, const CallArgs& c) { Args a(c, "startswith", {"prefix"}); return Value(affix_matches(a.required(0), s.as_string(), true)); }},
    {"endswith", [](const Value& s, const CallArgs& c) { Args a(c, "endswith", {"suffix"}); return Value(affix_matches(a.required(0), s.as_string(), false)); }},
    {"split", [](const Value& s, const CallArgs& c) { Args a(c, "split", {"sep", "maxsplit"}); return string_list(py_split(s.as_string(), optional_string(a, 0), a.integer(1, -1))); }},
    {"rsplit", [](const Value& s, const CallArgs& c) { Args a(c, "rsplit", {"sep", "maxsplit"}); return string_list(py_rsplit(s.as_string(), optional_string(a, 0), a.integer(1, -1))); }},
    {"splitlines", [](const Value& s, const CallArgs& c) { Args a(c, "splitlines", {"keepends"}); return string_list(py_splitlines(s.as_string(), a.flag(0, false))); }},
    {"strip", [](const Value& s, const CallArgs& c) { Args a(c, "strip", {"chars"}); return Value(py_strip(s.as_string(), optional_string(a, 0), true, true)); }},
    {"lstrip", [](const Value& s, const CallArgs& c) { Args a(c, "lstrip", {"chars"}); return Value(py_strip(s.as_string(), optional_string(a, 0), true, false)); }},
    {"rstrip", [](const Value& s, const CallArgs& c) { Args a(c, "rstrip", {"chars"}); return Value(py_strip(s.as_string(), optional_string(a, 0), false, true)); }},
    {"upper", [](const Value& s, const CallArgs& c) { Args a(c, "upper", {}); return Value(to_upper(s.as_string())); }},
    {"lower", [](const Value& s, const CallArgs& c) { Args a(c, "lower", {}); return Value(to_lower(s.as_string())); }},
    {"title", [](const Value& s, const CallArgs& c) { Args a(c, "title", {}); return Value(py_title(s.as_string())); }},
    {"capitalize", [](const Value& s, const CallArgs& c) { Args a(c, "capitalize", {}); return Value(py_capitalize(s.as_string())); }},
    {"swapcase", [](const Value& s, const CallArgs& c) { Args a(c, "swapcase", {}); return Value(py_swapcase(s.as_string())); }},
    {"replace", [](const Value& s, const CallArgs& c) { Args a(c, "replace", {"old", "new", "count"}); return Value(py_replace(s.as_string(), a.string(0, ""), a.string(1, ""), a.integer(2, -1))); }},
    {"format", [](const Value& s, const CallArgs& c) { return Value(str_format(s.as_string(), c)); }},
    {"find", [](const Value& s, const CallArgs& c) { Args a(c, "find", {"sub"}); return Value(py_find(s.as_string(), a.string(0, ""), false)); }},
    {"rfind", [](const Value& s, const CallArgs& c) { Args a(c, "rfind", {"sub"}); return Value(py_find(s.as_string(), a.string(0, ""), true)); }},
    {"count", [](const Value& s, const CallArgs& c) { Args a(c, "count", {"sub"}); return Value(py_count(s.as_string(), a.string(0, ""))); }},
    {"join", [](const Value& s, const CallArgs& c) {
       Args a(c, "join", {"iterable"});
       std::string out;
       bool first = true;
       for (const Value& v : iterate(a.required(0))) {
         if (!v.is_string()) throw TemplateError(fmt::format("sequence item: expected str instance, {} found", v.type_name()));
         if (!first) out += s.as_string();
         first = false;
         out += v.as_string();
       }
       return Value(std::move(out));
     }},
    {"center", [](const Value& s, const CallArgs& c) { Args a(c, "center", {"width", "fillchar"}); return Value(py_pad(s.as_string(), a.integer(0, 0), a.string(1, " "), '^')); }},
    {"ljust", [](const Value& s, const CallArgs& c) { Args a(c, "ljust", {"width", "fillchar"}); return Value(py_pad(s.as_string(), a.integer(0, 0), a.string(1, " "), '<')); }},
    {"rjust", [](const Value& s, const CallArgs& c) { Args a(c, "rjust", {"width", "fillchar"}); return Value(py_pad(s.as_string(), a.integer(0, 0), a.string(1, " "), '>')); }},
    {"zfill", [](const Value& s, const CallArgs& c) { Args a(c, "zfill", {"width"}); return Value(py_zfill(s.as_string(), a.integer(0, 0))); }},
    {"removeprefix", [](const Value& s, const CallArgs& c) {
       Args a(c, "removeprefix", {"prefix"});
       const std::string p = a.string(0, "");
       const std::string& v = s.as_string();
       return Value(v.compare(0, p.size(), p) == 0 ? v.substr(p.size()) : v);
     }},
    {"removesuffix", [](const Value& s, const CallArgs& c) {
       Args a(c, "removesuffix", {"suffix"});
       const std::string p = a.string(0, "");
       const std::string& v = s.as_string();
       const bool ends = !p.empty() && v.size() >= p.size() && v.compare(v.size() - p.size(), p.size(), p) == 0;
       return Value(ends ? v.substr(0, v.size() - p.size()) : v);
     }},
    {"isdigit", all_chars<is_decimal>},
    {"isdecimal", all_chars<is_decimal>},
    {"isnumeric", all_chars<is_decimal>},
    {"isalpha", all_chars<is_alpha>},
    {"isalnum", all_chars<is_alnum>},
    {"isspace", all_chars<is_python_space>},
    {"isupper", [](const Value& s, const CallArgs&) {
       bool cased = false;
       for (std::string_view ch : code_points(s.as_string())) {
         size_t i = 0;
         const char32_t cp = next_code_point(ch, i);
         if (is_lower(cp)) return Value(false);
         cased = cased || is_upper(cp);
       }
       return Value(cased);
     }},
    {"islower", [](const Value& s, const CallArgs&) {
       bool cased = false;
       for (std::string_view ch : code_points(s.as_string())) {
         size_t i = 0;
         const char32_t cp = next_code_point(ch, i);
         if (is_upper(cp)) return Value(false);
         cased = cased || is_lower(cp);
       }
       return Value(cased);
     }},
};

const NamedMethod kDictMethods[] = {
    {"items", [](const Value& d, const CallArgs& c) {
       Args a(c, "items", {});
       std::vector<Value> out;
       for (const auto& [k, v] : d.as_dict().entries()) out.push_back(Value::tuple({Value(k), v}));
       return Value::list(std::move(out));
     }},
    {"keys", [](const Value& d, const CallArgs& c) {
       Args a(c, "keys", {});
       std::vector<Value> out;
       for (const auto& entry : d.as_dict().entries()) out.emplace_back(entry.first);
       return Value::list(std::move(out));
     }},
    {"values", [](const Value& d, const CallArgs& c) {
       Args a(c, "values", {});
       std::vector<Value> out;
       for (const auto& entry : d.as_dict().entries()) out.push_back(entry.second);
       return Value::list(std::move(out));
     }},
    {"get", [](const Value& d, const CallArgs& c) {
       Args a(c, "get", {"key", "default"});
       const Value& key = a.required(0);
       const Value* v = key.is_string() ? d.as_dict().find(key.as_string()) : nullptr;
       return v ? *v : a.get(1);
     }},
    {"copy", [](const Value& d, const CallArgs& c) { Args a(c, "copy", {}); return d; }},
};

// dict methods the sandbox refuses: Jinja turns them into undefined values.
const std::set<std::string_view> kUnsafeDictMethods = {"pop", "popitem", "setdefault", "update", "clear", "fromkeys"};

template <size_t N>
Method find_method(const NamedMethod (&table)[N], std::string_view name) {
  for (const NamedMethod& m : table) {
    if (name == m.name) return m.fn;
  }
  return nullptr;
}

Value bind(const Value& self, std::string_view name, Method fn) {
  return Value::callable(std::make_shared<NativeFunction>(
      std::string(name), [self, fn](Interpreter&, CallArgs& args) { return fn(self, args); }));
}

Value missing_attribute(const Value& obj, std::string_view name) {
  if (obj.is_none()) return Value::undefined(fmt::format("'None' has no attribute '{}'", name));
  return Value::undefined(fmt::format("'{} object' has no attribute '{}'", obj.type_name(), name));
}

}  // namespace

bool is_known_method(std::string_view name) {
  return find_method(kStringMethods, name) != nullptr || find_method(kDictMethods, name) != nullptr ||
         name == "cycle";
}

Value get_attribute(const Value& obj, std::string_view name) {
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      fail_undefined(obj);
    case Value::Kind::kDict: {
      if (Method m = find_method(kDictMethods, name)) return bind(obj, name, m);
      if (kUnsafeDictMethods.count(name) != 0) return missing_attribute(obj, name);
      if (const Value* v = obj.as_dict().find(name)) return *v;
      return missing_attribute(obj, name);
    }
    case Value::Kind::kNamespace:
      if (const Value* v = obj.as_namespace().find(name)) return *v;
      return missing_attribute(obj, name);
    case Value::Kind::kString:
      if (Method m = find_method(kStringMethods, name)) return bind(obj, name, m);
      return missing_attribute(obj, name);
    default:
      return missing_attribute(obj, name);
  }
}

Value get_item(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      fail_undefined(obj);
    case Value::Kind::kDict:
      if (key.is_string()) {
        if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
        return get_attribute(obj, key.as_string());
      }
      return Value::undefined(fmt::format("'dict object' has no attribute {}", repr(key)));
    case Value::Kind::kNamespace:
      if (key.is_string()) return get_attribute(obj, key.as_string());
      break;
    case Value::Kind::kList:
    case Value::Kind::kString:
      if (key.is_int() || key.is_bool()) {
        int64_t i = key.as_int();
        if (obj.is_list()) {
          const auto n = static_cast<int64_t>(obj.as_list().size());
          if (i < 0) i += n;
          if (i >= 0 && i < n) return obj.as_list()[static_cast<size_t>(i)];
        } else {
          std::vector<std::string_view> cps = code_points(obj.as_string());
          const auto n = static_cast<int64_t>(cps.size());
          if (i < 0) i += n;
          if (i >= 0 && i < n) return Value(cps[static_cast<size_t>(i)]);
        }
        return Value::undefined(fmt::format("'{} object' has no element {}", obj.type_name(), key.as_int()));
      }
      if (key.is_string()) return get_attribute(obj, key.as_string());
      break;
    default:
      if (key.is_string()) return get_attribute(obj, key.as_string());
      break;
  }
  return Value::undefined(fmt::format("'{} object' has no element {}", obj.type_name(), repr(key)));
}

}  // namespace kvtier::tokenizer::jinja
