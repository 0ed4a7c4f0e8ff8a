#pragma once
// The syntax tree of a parsed template. Built once at load, then read-only: renders on any
// number of threads share it. Expressions evaluate to Values; statements append to the output.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace kvtier::tokenizer::jinja {

class Frame;

struct Expr {
  explicit Expr(int l) : line(l) {}
  virtual ~Expr() = default;
  virtual Value eval(Interpreter& in, Frame& frame) const = 0;
  int line;
};
using ExprPtr = std::unique_ptr<Expr>;

struct ArgExprs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct Literal : Expr {
  Literal(int l, Value v) : Expr(l), value(std::move(v)) {}
  Value eval(Interpreter& in, Frame& frame) const override;
  Value value;
};

struct NameExpr : Expr {
  NameExpr(int l, std::string n) : Expr(l), name(std::move(n)) {}
  Value eval(Interpreter& in, Frame& frame) const override;
  std::string name;
};

struct ListExpr : Expr {
  ListExpr(int l, bool t) : Expr(l), tuple(t) {}
  Value eval(Interpreter& in, Frame& frame) const override;
  std::vector<ExprPtr> items;
  bool tuple;
};

struct DictExpr : Expr {
  using Expr::Expr;
  Value eval(Interpreter& in, Frame& frame) const override;
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};

struct AttrExpr : Expr {
  AttrExpr(int l, ExprPtr o, std::string n) : Expr(l), object(std::move(o)), name(std::move(n)) {}
  Value eval(Interpreter& in, Frame& frame) const override;
  ExprPtr object;
  std::string name;
};

struct ItemExpr : Expr {
  ItemExpr(int l, ExprPtr o, ExprPtr i) : Expr(l), object(std::move(o)), index(std::move(i)) {}
  Value eval(Interpreter& in, Frame& frame) const override;
  ExprPtr object;
  ExprPtr index;
};

struct SliceExpr : Expr {
  using Expr::Expr;
  Value eval(Interpreter& in, Frame& frame) const override;
  ExprPtr object, start, stop, step;  // any of the last three may be null
};

struct CallExpr : Expr {
  using Expr::Expr;
  Value eval(Interpreter& in, Frame& frame) const override;
  ExprPtr callee;
  ArgExprs args;
};

using FilterFn = Value (*)(Interpreter& in, const Value& input, CallArgs& args);
using TestFn = bool (*)(Interpreter& in, const Value& input, CallArgs& args);

struct FilterExpr : Expr {
  using Expr::Expr;
  Value eval(Interpreter& in, Frame& frame) const override;
  Value apply(Interpreter& in, Frame& frame, const Value& input) const;
  ExprPtr input;  // null inside {% filter %} and {% set x | f %}
  std::string name;
  FilterFn fn = nullptr;
  ArgExprs args;
};

struct TestExpr : Expr {
  using Expr::Expr;
  Value eval(Interpreter& in, Frame& frame) const override;
  ExprPtr input;
  std::string name;
  TestFn fn = nullptr;
  ArgExprs args;
};

struct UnaryExpr : Expr {
  enum class Op { kNot, kNeg, kPos };
  UnaryExpr(int l, Op o, ExprPtr e) : Expr(l), op(o), operand(std::move(e)) {}
  Value eval(Interpreter& in, Frame& frame) const override;
  Op op;
  ExprPtr operand;
};

struct BinaryExpr : Expr {
  enum class Op { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kConcat, kAnd, kOr };
  BinaryExpr(int l, Op o, ExprPtr a, ExprPtr b) : Expr(l), op(o), lhs(std::move(a)), rhs(std::move(b)) {}
  Value eval(Interpreter& in, Frame& frame) const override;
  Op op;
  ExprPtr lhs, rhs;
};

struct CompareExpr : Expr {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };
  using Expr::Expr;
  Value eval(Interpreter& in, Frame& frame) const override;
  ExprPtr first;
  std::vector<std::pair<Op, ExprPtr>> rest;
};

struct CondExpr : Expr {
  using Expr::Expr;
  Value eval(Interpreter& in, Frame& frame) const override;
  ExprPtr condition, then, otherwise;  // otherwise may be null: undefined
};

enum class Flow { kNormal, kBreak, kContinue };
using FramePtr = std::shared_ptr<Frame>;

struct Stmt {
  explicit Stmt(int l) : line(l) {}
  virtual ~Stmt() = default;
  virtual Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const = 0;
  int line;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct TextStmt : Stmt {
  TextStmt(int l, std::string t) : Stmt(l), text(std::move(t)) {}
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  std::string text;
};

struct OutputStmt : Stmt {
  OutputStmt(int l, ExprPtr e) : Stmt(l), expr(std::move(e)) {}
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  ExprPtr expr;
};

struct IfStmt : Stmt {
  using Stmt::Stmt;
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body otherwise;
};

struct ForStmt : Stmt {
  using Stmt::Stmt;
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  std::vector<std::string> targets;  // one name, or several to unpack each item into
  ExprPtr iterable;
  ExprPtr filter;  // `for x in xs if cond`, may be null
  Body body;
  Body otherwise;
};

struct SetStmt : Stmt {
  using Stmt::Stmt;
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  std::vector<std::string> targets;  // names; with `attribute`, targets[0] is the namespace
  std::optional<std::string> attribute;
  ExprPtr value;
};

struct SetBlockStmt : Stmt {
  using Stmt::Stmt;
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  std::string target;
  std::optional<std::string> attribute;
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
};

struct MacroStmt : Stmt {
  using Stmt::Stmt;
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> params;  // default may be null
  Body body;
};

struct LoopControlStmt : Stmt {
  LoopControlStmt(int l, Flow f) : Stmt(l), flow(f) {}
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  Flow flow;
};

struct FilterBlockStmt : Stmt {
  using Stmt::Stmt;
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  std::vector<std::unique_ptr<FilterExpr>> filters;
  Body body;
};

struct WithStmt : Stmt {
  using Stmt::Stmt;
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  std::vector<std::pair<std::string, ExprPtr>> assignments;
  Body body;
};

// {% generation %} (transformers' assistant-mask extension): renders its body unchanged.
struct BlockStmt : Stmt {
  using Stmt::Stmt;
  Flow exec(Interpreter& in, const FramePtr& frame, std::string& out) const override;
  Body body;
};

}  // namespace kvtier::tokenizer::jinja
