#include "server/api_error.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace kvtier::server {

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kUnimplemented: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kUnavailable:
    case ErrorCode::kCancelled: return 503;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kDataLoss:
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

ApiError api_error_from(const Status& status) {
  return ApiError{http_status_for(status.code()), status.message(), {}};
}

const char* error_type_for(int http_status) {
  switch (http_status) {
    case 400: return "BadRequestError";
    case 401: return "UnauthorizedError";
    case 404: return "NotFoundError";
    case 405: return "MethodNotAllowedError";
    case 408: return "RequestTimeoutError";
    case 413: return "RequestEntityTooLargeError";
    case 431: return "RequestHeaderFieldsTooLargeError";
    case 501: return "NotImplementedError";
    case 503: return "ServiceUnavailableError";
    default: return http_status >= 500 ? "InternalServerError" : "BadRequestError";
  }
}

std::string error_json(const ApiError& error) {
  nlohmann::ordered_json info;
  info["message"] = error.message;
  info["type"] = error_type_for(error.status);
  info["param"] = error.param.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(error.param);
  info["code"] = error.status;
  nlohmann::ordered_json body;
  body["error"] = std::move(info);
  // Messages may quote client input that is not valid UTF-8: replace rather than throw.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse error_response(const ApiError& error) {
  HttpResponse response;
  response.status = error.status;
  response.body = error_json(error);
  return response;
}

ApiError out_of_memory_error(size_t body_bytes) {
  return ApiError{413,
                  fmt::format("out of memory preparing this request (a body of {} bytes): its "
                              "prompt, messages or settings are too large for this server",
                              body_bytes),
                  {}};
}

}  // namespace kvtier::server
