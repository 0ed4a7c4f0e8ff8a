#pragma once
// Values of the chat-template interpreter, with Python's semantics where templates can see them
// (truthiness, equality, ordering, str() and repr()), since Hugging Face renders templates with
// Jinja2 on Python objects. Lists, tuples, dicts and strings are immutable and shared; namespaces
// are the one mutable kind (Jinja's `set ns.attr`). A render runs on one thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvtier::tokenizer::jinja {

// A failure while rendering (or parsing); `line` is 0 until the node that failed adds its line.
class TemplateError : public std::runtime_error {
 public:
  explicit TemplateError(const std::string& message, int line = 0)
      : std::runtime_error(message), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

class Value;
class Interpreter;

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

class Callable {
 public:
  virtual ~Callable() = default;
  virtual Value call(Interpreter& interp, CallArgs& args) const = 0;
  virtual std::string name() const = 0;
};

struct ListData;
class DictData;

class Value {
 public:
  enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable };

  Value() : v_(Undefined{}) {}  // undefined
  static Value undefined(std::string hint) { return Value(Undefined{std::make_shared<const std::string>(std::move(hint))}); }
  static Value none() { return Value(None{}); }
  Value(bool b) : v_(b) {}               // NOLINT: implicit by design
  Value(int64_t i) : v_(i) {}            // NOLINT
  Value(int i) : v_(int64_t{i}) {}       // NOLINT
  Value(double f) : v_(f) {}             // NOLINT
  Value(std::string s) : v_(std::make_shared<const std::string>(std::move(s))) {}  // NOLINT
  Value(const char* s) : Value(std::string(s)) {}                                // NOLINT
  Value(std::string_view s) : Value(std::string(s)) {}                           // NOLINT
  static Value list(std::vector<Value> items);
  static Value tuple(std::vector<Value> items);
  static Value dict(std::shared_ptr<const DictData> d) { return Value(d); }
  static Value dict(DictData d);
  static Value namespace_(std::shared_ptr<DictData> d) { return Value(Namespace{std::move(d)}); }
  static Value callable(std::shared_ptr<const Callable> c) { return Value(std::move(c)); }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }  // list or tuple
  bool is_tuple() const;
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_callable() const { return kind() == Kind::kCallable; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const;     // int or bool
  double as_double() const;   // any number
  const std::string& as_string() const { return *std::get<StringPtr>(v_); }
  const std::vector<Value>& as_list() const;
  const DictData& as_dict() const { return *std::get<DictPtr>(v_); }
  const std::shared_ptr<const DictData>& dict_ptr() const { return std::get<DictPtr>(v_); }
  DictData& as_namespace() const { return *std::get<Namespace>(v_).data; }
  const Callable& as_callable() const { return *std::get<CallablePtr>(v_); }
  const std::string& undefined_hint() const;

  // Python's truth value.
  bool truthy() const;
  // Python's type name, for error messages ("str", "dict", "NoneType"...).
  std::string type_name() const;

  // Converts parsed JSON (the key order of ordered_json objects is kept: tojson prints it).
  static Value from_json(const nlohmann::json& j);
  static Value from_json(const nlohmann::ordered_json& j);

 private:
  struct Undefined {
    std::shared_ptr<const std::string> hint;  // the Jinja message for using it ("'x' is undefined")
  };
  struct None {};
  struct Namespace {
    std::shared_ptr<DictData> data;
  };
  using StringPtr = std::shared_ptr<const std::string>;
  using ListPtr = std::shared_ptr<const ListData>;
  using DictPtr = std::shared_ptr<const DictData>;
  using CallablePtr = std::shared_ptr<const Callable>;

  explicit Value(Undefined u) : v_(std::move(u)) {}
  explicit Value(None n) : v_(n) {}
  explicit Value(ListPtr l) : v_(std::move(l)) {}
  explicit Value(DictPtr d) : v_(std::move(d)) {}
  explicit Value(Namespace n) : v_(std::move(n)) {}
  explicit Value(CallablePtr c) : v_(std::move(c)) {}

  // The order matches Kind.
  std::variant<Undefined, None, bool, int64_t, double, StringPtr, ListPtr, DictPtr, Namespace, CallablePtr> v_;
};

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
};

// An insertion-ordered string-keyed map (Python dicts keep insertion order).
class DictData {
 public:
  const Value* find(std::string_view key) const;
  void set(std::string key, Value value);
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

 private:
  std::vector<std::pair<std::string, Value>> entries_;
};

// Python ==, and the ordering of < (TemplateError when the types do not order).
bool equals(const Value& a, const Value& b);
int compare(const Value& a, const Value& b);

// Python str() and repr(); Undefined prints as "".
std::string to_str(const Value& v);
std::string repr(const Value& v);
std::string float_repr(double x);
std::string string_repr(std::string_view s);

// The items `for` walks: list items, dict keys, string characters; Undefined gives nothing.
std::vector<Value> iterate(const Value& v);

// The error Jinja raises when an undefined value is used (an attribute of it, a call, arithmetic).
[[noreturn]] void fail_undefined(const Value& v);

}  // namespace kvtier::tokenizer::jinja
