#pragma once
// One HTTP exchange as the API handler sees it, independent of the transport: Beast fills these
// in the server, tests build them by hand.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvtier::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  // The value of the first header called `name` (lower case), or nullptr.
  const std::string* header(std::string_view name) const;
  // The target without its query string.
  std::string_view path() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// The transport side of one exchange. Every method except post() runs on the exchange's executor
// (the connection's strand); post() may be called from any thread.
class Responder {
 public:
  virtual ~Responder() = default;
  // A complete response; ends the exchange.
  virtual void send(HttpResponse response) = 0;
  // Starts a streamed (chunked) 200 response with this content type.
  virtual void begin_stream(std::string content_type) = 0;
  // Queues body bytes of a streamed response. False once the client is gone or its unsent
  // backlog passed the server's bound: the producer should stop.
  virtual bool write(std::string data) = 0;
  // Ends a streamed response; ends the exchange.
  virtual void end_stream() = 0;
  // Whether the client is still connected (as far as the transport knows).
  virtual bool is_open() const = 0;
  // Runs fn on the exchange's executor. Thread-safe.
  virtual void post(std::function<void()> fn) = 0;
  // fn runs on the executor if the client goes away before the exchange ends (at most once).
  virtual void on_disconnect(std::function<void()> fn) = 0;
};

// What the server calls for each request read off a connection (on that connection's executor).
using RequestHandler = std::function<void(HttpRequest, std::shared_ptr<Responder>)>;

}  // namespace kvtier::server
