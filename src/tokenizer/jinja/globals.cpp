// The functions every template can call: Jinja's range, namespace and dict, and transformers'
// raise_exception and strftime_now.
#include <ctime>

#include <fmt/format.h>

#include "tokenizer/jinja/args.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"

namespace kvtier::tokenizer::jinja {
namespace {

constexpr int64_t kMaxRange = 1'000'000;

Value range(Interpreter&, CallArgs& args) {
  if (!args.keyword.empty()) throw TemplateError("range() takes no keyword arguments");
  std::vector<int64_t> n;
  for (const Value& v : args.positional) {
    if (!v.is_int() && !v.is_bool()) throw TemplateError(fmt::format("range(): '{}' object cannot be interpreted as an integer", v.type_name()));
    n.push_back(v.as_int());
  }
  if (n.empty() || n.size() > 3) throw TemplateError("range() expects 1 to 3 arguments");
  const int64_t start = n.size() == 1 ? 0 : n[0];
  const int64_t stop = n.size() == 1 ? n[0] : n[1];
  const int64_t step = n.size() == 3 ? n[2] : 1;
  if (step == 0) throw TemplateError("range() arg 3 must not be zero");
  // The length first, in 128 bits (Python's integers do not overflow; int64 bounds near the
  // limits would), so a range too long fails before anything is allocated and stepping past
  // `stop` never wraps around.
  const __int128 distance = step > 0 ? __int128(stop) - start : __int128(start) - stop;
  const __int128 stride = step > 0 ? __int128(step) : -__int128(step);
  const __int128 length = distance <= 0 ? 0 : (distance + stride - 1) / stride;
  if (length > kMaxRange) throw TemplateError(fmt::format("range() longer than {}", kMaxRange));
  std::vector<Value> out;
  out.reserve(size_t(length));
  for (int64_t k = 0; k < int64_t(length); ++k) out.emplace_back(int64_t(start + __int128(k) * step));
  return Value::list(std::move(out));
}

DictData dict_from(const CallArgs& args, const char* name) {
  DictData d;
  if (args.positional.size() > 1) throw TemplateError(fmt::format("{}() takes at most one positional argument", name));
  if (!args.positional.empty()) {
    const Value& init = args.positional[0];
    if (!init.is_dict()) throw TemplateError(fmt::format("{}(): the positional argument must be a mapping", name));
    for (const auto& [k, v] : init.as_dict().entries()) d.set(k, v);
  }
  for (const auto& [k, v] : args.keyword) d.set(k, v);
  return d;
}

Value namespace_(Interpreter& in, CallArgs& args) { return in.make_namespace(dict_from(args, "namespace")); }
Value dict(Interpreter&, CallArgs& args) { return Value::dict(dict_from(args, "dict")); }

Value raise_exception(Interpreter&, CallArgs& args) {
  Args a(args, "raise_exception", {"message"});
  throw TemplateError(to_str(a.get(0, Value(std::string()))));
}

Value strftime_now(Interpreter&, CallArgs& args) {
  Args a(args, "strftime_now", {"format"});
  const std::string format = a.string(0, "");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[256];
  const size_t n = std::strftime(buf, sizeof(buf), format.c_str(), &local);
  return Value(std::string(buf, n));
}

struct Global {
  const char* name;
  Value (*fn)(Interpreter&, CallArgs&);
};

constexpr Global kGlobals[] = {
    {"range", range}, {"namespace", namespace_}, {"dict", dict},
    {"raise_exception", raise_exception}, {"strftime_now", strftime_now},
};

}  // namespace

bool is_global_function(std::string_view name) {
  for (const Global& g : kGlobals) {
    if (name == g.name) return true;
  }
  return false;
}

void install_globals(Frame& frame) {
  for (const Global& g : kGlobals) frame.set(g.name, Value::callable(std::make_shared<NativeFunction>(g.name, g.fn)));
}

}  // namespace kvtier::tokenizer::jinja
