#pragma once
// Where requests go: GuideLLM's --target ("http://host:port", a trailing "/v1" or "/" is
// dropped, as GuideLLM does).
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kvtier::bench {

struct HttpTarget {
  std::string host;
  std::string port = "80";
  std::string base_path;  // prefix for every route, without a trailing '/'

  std::string url() const;
  // base_path + route, route starting with '/'.
  std::string path(std::string_view route) const;
};

Expected<HttpTarget> parse_target(std::string_view url);

// Connection settings shared by every request.
struct HttpOptions {
  double connect_timeout_s = 5.0;
  std::optional<double> read_timeout_s;        // none: wait for the server as long as it takes
  std::map<std::string, std::string> headers;  // sent with every request (api_key included)
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

// One blocking request (GET /health, GET /v1/models, POST /tokenize); `timeout_s` bounds the
// whole exchange. A refused or unreachable host is kUnavailable naming the URL.
Expected<HttpResponse> http_request(const HttpTarget& target, const HttpOptions& options,
                                    std::string_view method, std::string_view route,
                                    std::string_view body, double timeout_s);

}  // namespace kvtier::bench
