#pragma once
// Errors as the OpenAI API (and vLLM) report them: {"error": {"message", "type", "param",
// "code"}} with code = the HTTP status. Every error the server sends goes through error_json().
#include <string>

#include "common/status.h"
#include "server/http_message.h"

namespace kvtier::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string param;  // the request field at fault; empty renders as null
};

// The HTTP status for a Status code (invalid argument -> 400, not found -> 404, ...).
int http_status_for(ErrorCode code);
ApiError api_error_from(const Status& status);
// "BadRequestError", "NotFoundError", ... as vLLM names them.
const char* error_type_for(int http_status);

// 413 for a request whose preparation (prompt, messages, chat template) ran out of memory:
// names the body's size, since that input is what was too large.
ApiError out_of_memory_error(size_t body_bytes);

std::string error_json(const ApiError& error);
HttpResponse error_response(const ApiError& error);

}  // namespace kvtier::server
