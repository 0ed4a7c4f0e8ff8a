#pragma once
// Results across module boundaries: Status for operations without a value, Expected<T> otherwise.
// Every message names the thing that is wrong (file, field, tensor, value).
#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace kvtier {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,   // bad input from a user: HTTP 400, CLI usage error
  kNotFound,          // missing file, model, route: HTTP 404
  kOutOfRange,        // value outside an allowed range (token id, context length): HTTP 400
  kAlreadyExists,
  kResourceExhausted, // no room (KV blocks, queue full): HTTP 503 or 429
  kUnavailable,       // starting, draining, endpoint down: HTTP 503
  kUnauthenticated,   // bad API key: HTTP 401
  kDataLoss,          // truncated or corrupt file
  kUnimplemented,     // a valid option this build does not support
  kCancelled,         // aborted by a client
  kInternal,          // a bug: should never reach a user
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: message", for logs and CLI output.
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename... Args>
Status make_error(ErrorCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Status(code, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status invalid_argument(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status not_found(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorCode::kNotFound, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status data_loss(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorCode::kDataLoss, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status internal_error(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorCode::kInternal, fmt::format(f, std::forward<Args>(args)...));
}

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).is_ok()); }  // NOLINT

  bool has_value() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Status& status() const {
    static const Status kOk;
    return has_value() ? kOk : std::get<Status>(v_);
  }
  const Status& error() const { return std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kvtier

// Propagate a failing Status (or the Status of a failing Expected) to the caller.
#define KVTIER_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    auto kvtier_status_ = (expr);                    \
    if (!kvtier_status_) return kvtier_status_;      \
  } while (0)

#define KVTIER_CONCAT_INNER_(a, b) a##b
#define KVTIER_CONCAT_(a, b) KVTIER_CONCAT_INNER_(a, b)
// KVTIER_ASSIGN_OR_RETURN(auto x, make_x()): binds the value or returns the error.
#define KVTIER_ASSIGN_OR_RETURN(lhs, expr) \
  KVTIER_ASSIGN_OR_RETURN_IMPL_(KVTIER_CONCAT_(kvtier_expected_, __LINE__), lhs, expr)
#define KVTIER_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) return tmp.error();                       \
  lhs = std::move(tmp).value()
