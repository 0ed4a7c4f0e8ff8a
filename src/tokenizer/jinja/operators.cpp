#include "tokenizer/jinja/operators.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "tokenizer/utf8.h"

namespace kvtier::tokenizer::jinja {
namespace {

constexpr size_t kMaxRepeatBytes = 64 << 20;

[[noreturn]] void unsupported(const char* op, const Value& a, const Value& b) {
  throw TemplateError(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name()));
}

void check_defined(const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
}

void check_overflow(bool overflow) {
  if (overflow) throw TemplateError("integer overflow (more than 64 bits)");
}

Value repeat(const Value& seq, int64_t n) {
  if (n <= 0) return seq.is_string() ? Value(std::string()) : (seq.is_tuple() ? Value::tuple({}) : Value::list({}));
  if (seq.is_string()) {
    if (seq.as_string().size() * static_cast<size_t>(n) > kMaxRepeatBytes) throw TemplateError("string repetition too large");
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  if (seq.as_list().size() * static_cast<size_t>(n) > kMaxRepeatBytes / 16) throw TemplateError("list repetition too large");
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return seq.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

}  // namespace

Value add(const Value& a, const Value& b) {
  check_defined(a, b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return Value(a.as_double() + b.as_double());
    int64_t r = 0;
    check_overflow(__builtin_add_overflow(a.as_int(), b.as_int(), &r));
    return Value(r);
  }
  if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    std::vector<Value> items = a.as_list();
    items.insert(items.end(), b.as_list().begin(), b.as_list().end());
    return a.is_tuple() ? Value::tuple(std::move(items)) : Value::list(std::move(items));
  }
  if (a.is_string() || a.is_list()) {
    throw TemplateError(fmt::format("can only concatenate {} (not \"{}\") to {}", a.type_name(), b.type_name(), a.type_name()));
  }
  unsupported("+", a, b);
}

Value subtract(const Value& a, const Value& b) {
  check_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("-", a, b);
  if (a.is_float() || b.is_float()) return Value(a.as_double() - b.as_double());
  int64_t r = 0;
  check_overflow(__builtin_sub_overflow(a.as_int(), b.as_int(), &r));
  return Value(r);
}

Value multiply(const Value& a, const Value& b) {
  check_defined(a, b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return Value(a.as_double() * b.as_double());
    int64_t r = 0;
    check_overflow(__builtin_mul_overflow(a.as_int(), b.as_int(), &r));
    return Value(r);
  }
  if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int());
  if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int());
  unsupported("*", a, b);
}

Value divide(const Value& a, const Value& b) {
  check_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("/", a, b);
  if (b.as_double() == 0.0) throw TemplateError("division by zero");
  return Value(a.as_double() / b.as_double());
}

Value floor_divide(const Value& a, const Value& b) {
  check_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("//", a, b);
  if (a.is_float() || b.is_float()) {
    if (b.as_double() == 0.0) throw TemplateError("float floor division by zero");
    return Value(std::floor(a.as_double() / b.as_double()));
  }
  const int64_t x = a.as_int();
  const int64_t y = b.as_int();
  if (y == 0) throw TemplateError("integer division or modulo by zero");
  if (x == INT64_MIN && y == -1) throw TemplateError("integer overflow (more than 64 bits)");
  int64_t q = x / y;
  if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
  return Value(q);
}

Value modulo(const Value& a, const Value& b) {
  if (a.is_string()) return Value(percent_format(a.as_string(), b));
  check_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("%", a, b);
  if (a.is_float() || b.is_float()) {
    const double y = b.as_double();
    if (y == 0.0) throw TemplateError("float modulo");
    double r = std::fmod(a.as_double(), y);
    if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
    return Value(r);
  }
  const int64_t x = a.as_int();
  const int64_t y = b.as_int();
  if (y == 0) throw TemplateError("integer division or modulo by zero");
  if (y == -1) return Value(int64_t{0});
  int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return Value(r);
}

Value power(const Value& a, const Value& b) {
  check_defined(a, b);
  if (!a.is_number() || !b.is_number()) unsupported("** or pow()", a, b);
  if (a.is_float() || b.is_float() || b.as_int() < 0) {
    if (a.as_double() == 0.0 && b.as_double() < 0) throw TemplateError("0.0 cannot be raised to a negative power");
    return Value(std::pow(a.as_double(), b.as_double()));
  }
  int64_t result = 1;
  int64_t base = a.as_int();
  for (int64_t e = b.as_int(); e > 0; e >>= 1) {
    if (e & 1) check_overflow(__builtin_mul_overflow(result, base, &result));
    if (e > 1) check_overflow(__builtin_mul_overflow(base, base, &base));
  }
  return Value(result);
}

Value negate(const Value& a) {
  if (a.is_undefined()) fail_undefined(a);
  if (a.is_float()) return Value(-a.as_double());
  if (a.is_number()) {
    if (a.as_int() == INT64_MIN) throw TemplateError("integer overflow (more than 64 bits)");
    return Value(-a.as_int());
  }
  throw TemplateError(fmt::format("bad operand type for unary -: '{}'", a.type_name()));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string()) {
        throw TemplateError(fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.as_list()) {
        if (equals(v, item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    default:
      throw TemplateError(fmt::format("argument of type '{}' is not iterable", container.type_name()));
  }
}

Value slice_value(const Value& obj, std::optional<int64_t> start, std::optional<int64_t> stop,
                  std::optional<int64_t> step) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (!obj.is_string() && !obj.is_list()) {
    throw TemplateError(fmt::format("'{}' object is not subscriptable", obj.type_name()));
  }
  // Python's slice.indices().
  const int64_t st = step.value_or(1);
  if (st == 0) throw TemplateError("slice step cannot be zero");
  std::vector<std::string_view> chars;
  if (obj.is_string()) {
    const std::string& s = obj.as_string();
    size_t i = 0;
    while (i < s.size()) {
      const size_t b = i;
      next_code_point(s, i);
      chars.push_back(std::string_view(s).substr(b, i - b));
    }
  }
  const auto len = static_cast<int64_t>(obj.is_string() ? chars.size() : obj.as_list().size());
  const int64_t lower = st > 0 ? 0 : -1;
  const int64_t upper = st > 0 ? len : len - 1;
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + len : *v;
    return x < lower ? lower : x > upper ? upper : x;
  };
  const int64_t from = clamp(start, st > 0 ? lower : upper);
  const int64_t to = clamp(stop, st > 0 ? upper : lower);
  if (obj.is_string()) {
    std::string out;
    for (int64_t i = from; st > 0 ? i < to : i > to; i += st) out += chars[static_cast<size_t>(i)];
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i = from; st > 0 ? i < to : i > to; i += st) out.push_back(obj.as_list()[static_cast<size_t>(i)]);
  return obj.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

std::string percent_format(const std::string& format, const Value& args) {
  std::vector<Value> values = args.is_tuple() ? args.as_list() : std::vector<Value>{args};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (++i >= format.size()) throw TemplateError("incomplete format");
    if (format[i] == '%') {
      out += '%';
      continue;
    }
    std::string spec;
    while (i < format.size() && std::string_view("-+ #0").find(format[i]) != std::string_view::npos) spec += format[i++];
    while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) spec += format[i++];
    if (i < format.size() && format[i] == '.') {
      spec += format[i++];
      while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) spec += format[i++];
    }
    if (i >= format.size()) throw TemplateError("incomplete format");
    const char conv = format[i];
    if (next >= values.size()) throw TemplateError("not enough arguments for format string");
    const Value& v = values[next++];
    // Python's flags map onto fmt's: '-' is left alignment.
    std::string fspec;
    bool left = false;
    std::string flags;
    size_t k = 0;
    for (; k < spec.size() && std::string_view("-+ #0").find(spec[k]) != std::string_view::npos; ++k) {
      if (spec[k] == '-') left = true;
      else flags += spec[k];
    }
    const std::string rest = spec.substr(k);
    if (left) flags.erase(std::remove(flags.begin(), flags.end(), '0'), flags.end());
    fspec = std::string(left ? "<" : "") + flags + rest;
    switch (conv) {
      case 's':
      case 'r': {
        const std::string s = conv == 's' ? to_str(v) : repr(v);
        out += fmt::format(fmt::runtime("{:" + std::string(left ? "<" : ">") + rest + "}"), s);
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        if (!v.is_number()) throw TemplateError(fmt::format("%{} format: a real number is required, not {}", conv, v.type_name()));
        const auto n = v.is_float() ? static_cast<int64_t>(v.as_double()) : v.as_int();
        const char t = conv == 'i' ? 'd' : conv;
        out += fmt::format(fmt::runtime("{:" + fspec + t + "}"), n);
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!v.is_number()) throw TemplateError(fmt::format("%{} format: a real number is required, not {}", conv, v.type_name()));
        const std::string precision = rest.find('.') == std::string::npos ? ".6" : "";
        out += fmt::format(fmt::runtime("{:" + fspec + precision + conv + "}"), v.as_double());
        break;
      }
      default:
        throw TemplateError(fmt::format("unsupported format character '{}'", conv));
    }
  }
  if (next < values.size() && args.is_tuple()) throw TemplateError("not all arguments converted during string formatting");
  return out;
}

}  // namespace kvtier::tokenizer::jinja
