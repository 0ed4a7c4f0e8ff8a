#pragma once
// Binds the arguments of a filter, test or method call to its parameter names as Python does:
// positionally in order, or by keyword.
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "tokenizer/jinja/value.h"

namespace kvtier::tokenizer::jinja {

class Args {
 public:
  // With `variadic`, extra positional arguments are allowed and kept in rest().
  Args(const CallArgs& args, std::string_view function, std::initializer_list<std::string_view> params,
       bool variadic = false)
      : function_(function), params_(params), values_(params_.size(), nullptr) {
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < params_.size()) {
        values_[i] = &args.positional[i];
      } else if (variadic) {
        rest_.push_back(args.positional[i]);
      } else {
        throw TemplateError(fmt::format("{}() takes at most {} arguments ({} given)", function, params_.size(),
                                        args.positional.size()));
      }
    }
    for (const auto& [key, value] : args.keyword) {
      size_t i = 0;
      while (i < params_.size() && params_[i] != key) ++i;
      if (i == params_.size()) {
        throw TemplateError(fmt::format("{}() got an unexpected keyword argument '{}'", function, key));
      }
      values_[i] = &value;
    }
  }

  bool has(size_t i) const { return values_[i] != nullptr; }
  // The argument, or `fallback` when not given.
  Value get(size_t i, Value fallback = Value::none()) const { return values_[i] ? *values_[i] : fallback; }
  const Value& required(size_t i) const {
    if (!values_[i]) throw TemplateError(fmt::format("{}() missing argument '{}'", function_, params_[i]));
    return *values_[i];
  }
  std::string string(size_t i, std::string fallback) const {
    if (!values_[i] || values_[i]->is_none()) return fallback;
    if (!values_[i]->is_string()) {
      throw TemplateError(fmt::format("{}(): argument '{}' must be a string, not {}", function_, params_[i],
                                      values_[i]->type_name()));
    }
    return values_[i]->as_string();
  }
  int64_t integer(size_t i, int64_t fallback) const {
    if (!values_[i] || values_[i]->is_none()) return fallback;
    if (!values_[i]->is_int() && !values_[i]->is_bool()) {
      throw TemplateError(fmt::format("{}(): argument '{}' must be an integer, not {}", function_, params_[i],
                                      values_[i]->type_name()));
    }
    return values_[i]->as_int();
  }
  bool flag(size_t i, bool fallback) const { return values_[i] ? values_[i]->truthy() : fallback; }
  const std::vector<Value>& rest() const { return rest_; }

 private:
  std::string_view function_;
  std::vector<std::string_view> params_;
  std::vector<const Value*> values_;
  std::vector<Value> rest_;
};

}  // namespace kvtier::tokenizer::jinja
