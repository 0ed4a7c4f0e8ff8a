#pragma once
// Runs a parsed template. One Interpreter per render (not thread-safe); the tree it walks is
// shared and read-only.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/render_limits.h"
#include "tokenizer/jinja/value.h"

namespace kvtier::tokenizer::jinja {

// Variables of one scope. Jinja gives each loop iteration and each macro call its own scope;
// `if` and `set` at the top level write to the enclosing one.
class Frame {
 public:
  explicit Frame(FramePtr parent = nullptr) : parent_(std::move(parent)) {}
  const Value* lookup(std::string_view name) const;
  void set(std::string_view name, Value value);
  const FramePtr& parent() const { return parent_; }

 private:
  FramePtr parent_;
  std::vector<std::pair<std::string, Value>> vars_;
};

class Interpreter {
 public:
  explicit Interpreter(RenderLimits limits = {}) : limits_(limits) {}
  Value eval(const Expr& e, Frame& frame);
  Flow exec(const Body& body, const FramePtr& frame, std::string& out);
  std::string render(const Body& body, const FramePtr& frame);
  Value call(const Value& callee, CallArgs& args);
  CallArgs eval_args(const ArgExprs& args, Frame& frame);

  // Bounds that keep a hostile template from running away with memory, time or the stack.
  void enter_call();
  void leave_call() { --call_depth_; }
  void count_iterations(size_t n);
  // A string or list of `size` bytes (items) is about to be made or appended to: refused past
  // the size one value may have, or once the render has made too much in all. Without this a
  // template doubling a string in a loop ends in std::bad_alloc.
  void count_output(size_t size);

  // Namespaces made during this render; emptied at the end so that a namespace holding itself
  // (`set ns.me = ns`) is still freed.
  Value make_namespace(DictData initial);
  ~Interpreter();

 private:
  RenderLimits limits_;
  int call_depth_ = 0;
  size_t iterations_ = 0;
  size_t produced_ = 0;  // bytes of strings (and list items) made during this render
  std::vector<std::shared_ptr<DictData>> namespaces_;
};

// A macro bound to the scope it was defined in. The scope holds the macro, so the macro holds
// the scope weakly.
class Macro : public Callable {
 public:
  Macro(const MacroStmt& def, const FramePtr& scope) : def_(def), scope_(scope) {}
  Value call(Interpreter& in, CallArgs& args) const override;
  std::string name() const override { return def_.name; }

 private:
  const MacroStmt& def_;
  std::weak_ptr<Frame> scope_;
};

// A built-in function or bound method.
class NativeFunction : public Callable {
 public:
  using Fn = std::function<Value(Interpreter&, CallArgs&)>;
  NativeFunction(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  Value call(Interpreter& in, CallArgs& args) const override { return fn_(in, args); }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  Fn fn_;
};

}  // namespace kvtier::tokenizer::jinja
