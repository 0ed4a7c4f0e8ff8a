#include "tokenizer/jinja/interpreter.h"

#include <fmt/format.h>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/operators.h"

namespace kvtier::tokenizer::jinja {
namespace {


}  // namespace

const Value* Frame::lookup(std::string_view name) const {
  for (const Frame* f = this; f != nullptr; f = f->parent_.get()) {
    for (const auto& [k, v] : f->vars_) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

void Frame::set(std::string_view name, Value value) {
  for (auto& [k, v] : vars_) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars_.emplace_back(std::string(name), std::move(value));
}

Value Interpreter::eval(const Expr& e, Frame& frame) {
  try {
    return e.eval(*this, frame);
  } catch (const TemplateError& err) {
    if (err.line() == 0) throw TemplateError(err.what(), e.line);
    throw;
  }
}

Flow Interpreter::exec(const Body& body, const FramePtr& frame, std::string& out) {
  for (const StmtPtr& stmt : body) {
    Flow flow;
    try {
      flow = stmt->exec(*this, frame, out);
    } catch (const TemplateError& err) {
      if (err.line() == 0) throw TemplateError(err.what(), stmt->line);
      throw;
    }
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

std::string Interpreter::render(const Body& body, const FramePtr& frame) {
  std::string out;
  exec(body, frame, out);
  return out;
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_callable()) throw TemplateError(fmt::format("'{}' object is not callable", callee.type_name()));
  return callee.as_callable().call(*this, args);
}

CallArgs Interpreter::eval_args(const ArgExprs& args, Frame& frame) {
  CallArgs out;
  out.positional.reserve(args.positional.size());
  for (const ExprPtr& e : args.positional) out.positional.push_back(eval(*e, frame));
  for (const auto& [k, e] : args.keyword) out.keyword.emplace_back(k, eval(*e, frame));
  return out;
}

void Interpreter::enter_call() {
  if (++call_depth_ > limits_.max_call_depth) {
    --call_depth_;
    throw TemplateError(fmt::format("macro calls nested deeper than {}", limits_.max_call_depth));
  }
}

void Interpreter::count_iterations(size_t n) {
  iterations_ += n;
  if (iterations_ > limits_.max_iterations) throw TemplateError(fmt::format("template ran more than {} loop iterations", limits_.max_iterations));
}

void Interpreter::count_output(size_t size) {
  if (size > limits_.max_output_bytes)
    throw TemplateError(fmt::format("output of more than {} bytes (a loop or recursion without "
                                    "bound?)",
                                    limits_.max_output_bytes));
  produced_ += size;
  if (produced_ > limits_.max_produced_bytes)
    throw TemplateError(fmt::format("rendering made more than {} bytes of text in all (a loop or "
                                    "recursion without bound?)",
                                    limits_.max_produced_bytes));
}

Value Interpreter::make_namespace(DictData initial) {
  namespaces_.push_back(std::make_shared<DictData>(std::move(initial)));
  return Value::namespace_(namespaces_.back());
}

Interpreter::~Interpreter() {
  for (auto& ns : namespaces_) ns->clear();
}

Value Macro::call(Interpreter& in, CallArgs& args) const {
  FramePtr scope = scope_.lock();
  if (!scope) throw TemplateError(fmt::format("macro '{}' called after its scope ended", def_.name));
  in.enter_call();
  auto frame = std::make_shared<Frame>(scope);
  std::vector<Value> varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < def_.params.size()) {
      frame->set(def_.params[i].first, args.positional[i]);
    } else {
      varargs.push_back(args.positional[i]);
    }
  }
  DictData kwargs;
  for (auto& [k, v] : args.keyword) {
    bool is_param = false;
    for (const auto& p : def_.params) is_param = is_param || p.first == k;
    if (is_param) {
      frame->set(k, v);
    } else {
      kwargs.set(k, v);
    }
  }
  for (size_t i = args.positional.size(); i < def_.params.size(); ++i) {
    const auto& [name, def] = def_.params[i];
    bool given = false;
    for (const auto& kv : args.keyword) given = given || kv.first == name;
    if (given) continue;
    frame->set(name, def ? in.eval(*def, *frame)
                         : Value::undefined(fmt::format("parameter '{}' was not provided", name)));
  }
  frame->set("varargs", Value::tuple(std::move(varargs)));
  frame->set("kwargs", Value::dict(std::move(kwargs)));
  std::string out;
  try {
    in.exec(def_.body, frame, out);
  } catch (...) {
    in.leave_call();
    throw;
  }
  in.leave_call();
  return Value(std::move(out));
}

// ---- expressions ----

Value Literal::eval(Interpreter&, Frame&) const { return value; }

Value NameExpr::eval(Interpreter&, Frame& frame) const {
  if (const Value* v = frame.lookup(name)) return *v;
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

Value ListExpr::eval(Interpreter& in, Frame& frame) const {
  std::vector<Value> values;
  values.reserve(items.size());
  for (const ExprPtr& e : items) values.push_back(in.eval(*e, frame));
  return tuple ? Value::tuple(std::move(values)) : Value::list(std::move(values));
}

Value DictExpr::eval(Interpreter& in, Frame& frame) const {
  DictData d;
  for (const auto& [k, v] : items) {
    Value key = in.eval(*k, frame);
    if (!key.is_string()) throw TemplateError(fmt::format("unsupported dict key of type '{}' (only strings)", key.type_name()));
    d.set(key.as_string(), in.eval(*v, frame));
  }
  return Value::dict(std::move(d));
}

Value AttrExpr::eval(Interpreter& in, Frame& frame) const { return get_attribute(in.eval(*object, frame), name); }

Value ItemExpr::eval(Interpreter& in, Frame& frame) const {
  Value obj = in.eval(*object, frame);
  return get_item(obj, in.eval(*index, frame));
}

Value SliceExpr::eval(Interpreter& in, Frame& frame) const {
  Value obj = in.eval(*object, frame);
  auto bound = [&](const ExprPtr& e) -> std::optional<int64_t> {
    if (!e) return std::nullopt;
    Value v = in.eval(*e, frame);
    if (v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) throw TemplateError("slice indices must be integers or None");
    return v.as_int();
  };
  return slice_value(obj, bound(start), bound(stop), bound(step));
}

Value CallExpr::eval(Interpreter& in, Frame& frame) const {
  Value fn = in.eval(*callee, frame);
  CallArgs args = in.eval_args(this->args, frame);
  return in.call(fn, args);
}

Value FilterExpr::apply(Interpreter& in, Frame& frame, const Value& value) const {
  CallArgs call_args = in.eval_args(args, frame);
  return fn(in, value, call_args);
}

Value FilterExpr::eval(Interpreter& in, Frame& frame) const { return apply(in, frame, in.eval(*input, frame)); }

Value TestExpr::eval(Interpreter& in, Frame& frame) const {
  Value value = in.eval(*input, frame);
  CallArgs call_args = in.eval_args(args, frame);
  return Value(fn(in, value, call_args));
}

Value UnaryExpr::eval(Interpreter& in, Frame& frame) const {
  Value v = in.eval(*operand, frame);
  switch (op) {
    case Op::kNot: return Value(!v.truthy());
    case Op::kNeg: return negate(v);
    case Op::kPos:
      if (v.is_undefined()) fail_undefined(v);
      if (!v.is_number()) throw TemplateError(fmt::format("bad operand type for unary +: '{}'", v.type_name()));
      return v.is_bool() ? Value(v.as_int()) : v;
  }
  return v;
}

Value BinaryExpr::eval(Interpreter& in, Frame& frame) const {
  if (op == Op::kAnd) {
    Value a = in.eval(*lhs, frame);
    return a.truthy() ? in.eval(*rhs, frame) : a;
  }
  if (op == Op::kOr) {
    Value a = in.eval(*lhs, frame);
    return a.truthy() ? a : in.eval(*rhs, frame);
  }
  Value a = in.eval(*lhs, frame);
  Value b = in.eval(*rhs, frame);
  // Sizes are checked before a concatenation is made, and every string or list result counts.
  auto length = [](const Value& v) -> size_t {
    return v.is_string() ? v.as_string().size() : v.is_list() ? v.as_list().size() : 0;
  };
  if (op == Op::kAdd) in.count_output(length(a) + length(b));
  Value result;
  switch (op) {
    case Op::kAdd: return add(a, b);
    case Op::kSub: return subtract(a, b);
    case Op::kMul: result = multiply(a, b); break;
    case Op::kDiv: return divide(a, b);
    case Op::kFloorDiv: return floor_divide(a, b);
    case Op::kMod: result = modulo(a, b); break;
    case Op::kPow: return power(a, b);
    case Op::kConcat: {
      std::string left = to_str(a), right = to_str(b);
      in.count_output(left.size() + right.size());
      return Value(std::move(left) + right);
    }
    default: return Value::none();
  }
  in.count_output(length(result));
  return result;
}

Value CompareExpr::eval(Interpreter& in, Frame& frame) const {
  Value left = in.eval(*first, frame);
  for (const auto& [op, e] : rest) {
    Value right = in.eval(*e, frame);
    bool ok = false;
    switch (op) {
      case Op::kEq: ok = equals(left, right); break;
      case Op::kNe: ok = !equals(left, right); break;
      case Op::kLt: ok = compare(left, right) < 0; break;
      case Op::kLe: ok = compare(left, right) <= 0; break;
      case Op::kGt: ok = compare(left, right) > 0; break;
      case Op::kGe: ok = compare(left, right) >= 0; break;
      case Op::kIn: ok = contains(right, left); break;
      case Op::kNotIn: ok = !contains(right, left); break;
    }
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value CondExpr::eval(Interpreter& in, Frame& frame) const {
  if (in.eval(*condition, frame).truthy()) return in.eval(*then, frame);
  if (otherwise) return in.eval(*otherwise, frame);
  return Value::undefined("the conditional expression had no else branch");
}

// ---- statements ----

Flow TextStmt::exec(Interpreter& in, const FramePtr&, std::string& out) const {
  in.count_output(out.size() + text.size());
  out += text;
  return Flow::kNormal;
}

Flow OutputStmt::exec(Interpreter& in, const FramePtr& frame, std::string& out) const {
  std::string text = to_str(in.eval(*expr, *frame));
  in.count_output(out.size() + text.size());
  out += text;
  return Flow::kNormal;
}

Flow IfStmt::exec(Interpreter& in, const FramePtr& frame, std::string& out) const {
  for (const auto& [condition, body] : branches) {
    if (in.eval(*condition, *frame).truthy()) return in.exec(body, frame, out);
  }
  return in.exec(otherwise, frame, out);
}

namespace {

void assign_targets(Frame& frame, const std::vector<std::string>& targets, const Value& value) {
  if (targets.size() == 1) {
    frame.set(targets[0], value);
    return;
  }
  if (value.is_undefined()) fail_undefined(value);
  std::vector<Value> items = iterate(value);
  if (items.size() != targets.size()) {
    throw TemplateError(fmt::format("cannot unpack {} values into {} names", items.size(), targets.size()));
  }
  for (size_t i = 0; i < targets.size(); ++i) frame.set(targets[i], items[i]);
}

Value make_loop(const std::vector<Value>& items, size_t i) {
  const auto n = static_cast<int64_t>(items.size());
  const auto k = static_cast<int64_t>(i);
  DictData loop;
  loop.set("index", Value(k + 1));
  loop.set("index0", Value(k));
  loop.set("revindex", Value(n - k));
  loop.set("revindex0", Value(n - k - 1));
  loop.set("first", Value(k == 0));
  loop.set("last", Value(k == n - 1));
  loop.set("length", Value(n));
  loop.set("depth", Value(1));
  loop.set("depth0", Value(0));
  if (i > 0) loop.set("previtem", items[i - 1]);
  if (i + 1 < items.size()) loop.set("nextitem", items[i + 1]);
  loop.set("cycle", Value::callable(std::make_shared<NativeFunction>("cycle", [k](Interpreter&, CallArgs& args) {
             if (args.positional.empty()) throw TemplateError("loop.cycle() needs at least one value");
             return args.positional[static_cast<size_t>(k) % args.positional.size()];
           })));
  return Value::dict(std::move(loop));
}

}  // namespace

Flow ForStmt::exec(Interpreter& in, const FramePtr& frame, std::string& out) const {
  Value seq = in.eval(*iterable, *frame);
  std::vector<Value> items = iterate(seq);
  if (filter) {
    std::vector<Value> kept;
    for (Value& item : items) {
      Frame probe(frame);
      assign_targets(probe, targets, item);
      if (in.eval(*filter, probe).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) return in.exec(otherwise, frame, out);
  in.count_iterations(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto scope = std::make_shared<Frame>(frame);
    assign_targets(*scope, targets, items[i]);
    scope->set("loop", make_loop(items, i));
    if (in.exec(body, scope, out) == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

Flow SetStmt::exec(Interpreter& in, const FramePtr& frame, std::string&) const {
  Value v = in.eval(*value, *frame);
  if (attribute) {
    const Value* ns = frame->lookup(targets[0]);
    if (ns == nullptr || !ns->is_namespace()) {
      throw TemplateError(fmt::format("cannot assign attribute '{}' on '{}': not a namespace()", *attribute, targets[0]));
    }
    ns->as_namespace().set(*attribute, std::move(v));
    return Flow::kNormal;
  }
  assign_targets(*frame, targets, v);
  return Flow::kNormal;
}

Flow SetBlockStmt::exec(Interpreter& in, const FramePtr& frame, std::string&) const {
  Value v(in.render(body, frame));
  for (const auto& f : filters) v = f->apply(in, *frame, v);
  if (attribute) {
    const Value* ns = frame->lookup(target);
    if (ns == nullptr || !ns->is_namespace()) {
      throw TemplateError(fmt::format("cannot assign attribute '{}' on '{}': not a namespace()", *attribute, target));
    }
    ns->as_namespace().set(*attribute, std::move(v));
    return Flow::kNormal;
  }
  frame->set(target, std::move(v));
  return Flow::kNormal;
}

Flow MacroStmt::exec(Interpreter&, const FramePtr& frame, std::string&) const {
  frame->set(name, Value::callable(std::make_shared<Macro>(*this, frame)));
  return Flow::kNormal;
}

Flow LoopControlStmt::exec(Interpreter&, const FramePtr&, std::string&) const { return flow; }

Flow FilterBlockStmt::exec(Interpreter& in, const FramePtr& frame, std::string& out) const {
  Value v(in.render(body, frame));
  for (const auto& f : filters) v = f->apply(in, *frame, v);
  std::string text = to_str(v);
  in.count_output(out.size() + text.size());
  out += text;
  return Flow::kNormal;
}

Flow WithStmt::exec(Interpreter& in, const FramePtr& frame, std::string& out) const {
  auto scope = std::make_shared<Frame>(frame);
  for (const auto& [name, e] : assignments) scope->set(name, in.eval(*e, *frame));
  return in.exec(body, scope, out);
}

Flow BlockStmt::exec(Interpreter& in, const FramePtr& frame, std::string& out) const {
  return in.exec(body, frame, out);
}

}  // namespace kvtier::tokenizer::jinja
