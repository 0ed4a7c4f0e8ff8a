// 1,000 streaming connections at once through the real HTTP server and API (the fake engine
// stands in for the model, so the test measures the server, not the CPU forward pass). The
// engine starts stepping only once every request is in, so all 1,000 are provably concurrent.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "server/in_process_server.h"

namespace kvtier::server::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr int kStreams = 1000;
constexpr int kTokens = 12;

struct Result {
  int status = 0;
  std::string body;
  std::string error;
};

// One streaming request on its own connection, driven by callbacks on a shared io_context.
class StreamingClient : public std::enable_shared_from_this<StreamingClient> {
 public:
  StreamingClient(net::io_context& ioc, tcp::endpoint endpoint, Result& result, int index)
      : socket_(ioc), endpoint_(endpoint), result_(result) {
    request_ = {http::verb::post, index % 2 ? "/v1/completions" : "/v1/chat/completions", 11};
    request_.set(http::field::host, "127.0.0.1");
    request_.set(http::field::content_type, "application/json");
    std::string options = R"("max_tokens": )" + std::to_string(kTokens) +
                          R"(, "stream": true, "stream_options": {"include_usage": true})";
    request_.body() = index % 2
        ? R"({"prompt": "request )" + std::to_string(index) + R"(", )" + options + "}"
        : R"({"messages": [{"role": "user", "content": "hi )" + std::to_string(index) +
              R"("}], )" + options + "}";
    request_.prepare_payload();
    parser_.body_limit(1 << 20);
  }

  void start() {
    socket_.async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail("connect", ec);
      http::async_write(self->socket_, self->request_,
                        [self](beast::error_code ec, size_t) {
                          if (ec) return self->fail("write", ec);
                          http::async_read(self->socket_, self->buffer_, self->parser_,
                                           [self](beast::error_code ec, size_t) {
                                             if (ec) return self->fail("read", ec);
                                             self->result_.status =
                                                 int(self->parser_.get().result_int());
                                             self->result_.body = self->parser_.get().body();
                                           });
                        });
    });
  }

 private:
  void fail(const char* what, beast::error_code ec) {
    result_.error = std::string(what) + ": " + ec.message();
  }

  tcp::socket socket_;
  tcp::endpoint endpoint_;
  Result& result_;
  http::request<http::string_body> request_;
  http::response_parser<http::string_body> parser_;
  beast::flat_buffer buffer_;
};

TEST(ManyStreams, ThousandConcurrentStreamsAllComplete) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::max<rlim_t>(limit.rlim_cur, std::min<rlim_t>(limit.rlim_max, 8192));
  setrlimit(RLIMIT_NOFILE, &limit);
  ASSERT_GE(limit.rlim_cur, rlim_t(2 * kStreams + 64)) << "not enough file descriptors";

  HttpServerConfig config;
  config.io_threads = 2;
  InProcessServer server(config, -1us);  // the engine waits until every request is in

  std::vector<Result> results(kStreams);
  net::io_context ioc;
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), server.port());
  for (int i = 0; i < kStreams; ++i) {
    std::make_shared<StreamingClient>(ioc, endpoint, results[size_t(i)], i)->start();
  }
  std::thread client_thread([&] { ioc.run(); });

  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (server.engine().submitted().size() < size_t(kStreams) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  size_t accepted = server.engine().submitted().size();
  EXPECT_EQ(accepted, size_t(kStreams));
  EXPECT_EQ(server.api().in_flight(), kStreams);
  EXPECT_GE(server.server().connections(), kStreams);
  server.engine().start(0us);
  client_thread.join();

  EXPECT_EQ(server.engine().peak_active(), size_t(kStreams));
  int ok = 0;
  for (int i = 0; i < kStreams; ++i) {
    const Result& r = results[size_t(i)];
    bool good = r.error.empty() && r.status == 200 && r.body.ends_with("data: [DONE]\n\n") &&
                r.body.find("\"finish_reason\":\"length\"") != std::string::npos &&
                r.body.find("\"completion_tokens\":" + std::to_string(kTokens)) !=
                    std::string::npos;
    if (!good && ok == i) {
      ADD_FAILURE() << "stream " << i << ": " << r.error << " status " << r.status << "\n"
                    << r.body.substr(0, 2000);
    }
    ok += good;
  }
  EXPECT_EQ(ok, kStreams);
  EXPECT_EQ(server.api().in_flight(), 0);
  EXPECT_EQ(server.engine().active(), 0u);
}

}  // namespace
}  // namespace kvtier::server::testing
