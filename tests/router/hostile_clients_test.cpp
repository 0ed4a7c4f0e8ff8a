// Idle, slow and malformed clients cannot exhaust the router and are told what was wrong:
// connections past --max-connections are refused with a 503, a request header or body that does
// not arrive in time gets a 408, a malformed chunked body a 400 and an oversized header a 431.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "gateway_fixture.h"

namespace kvtier::router::testing {
namespace {

namespace asio = boost::asio;

class HostileClientsTest : public GatewayFixture {};

// Everything the router sends until it closes, or what came within 20 s (plain recv with
// SO_RCVTIMEO: asio's blocking reads would wait forever).
std::string read_all(asio::ip::tcp::socket& socket) {
  timeval tv{20, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(socket.native_handle(), buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, size_t(n));
  }
  return got;
}

TEST_F(HostileClientsTest, SlowRequestHeaderGets408) {
  start_endpoints(1);
  GatewayOptions o = default_options();
  o.header_timeout = std::chrono::milliseconds(300);
  start_gateway(std::move(o));
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port()});
  asio::write(socket, asio::buffer(std::string("POST /v1/completions HTTP/1.1\r\nHost: x\r\n")));
  const std::string got = read_all(socket);
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
  EXPECT_NE(got.find("RequestTimeout"), std::string::npos) << got;
  EXPECT_EQ(endpoints_[0]->requests(), 0u);
}

TEST_F(HostileClientsTest, ConnectionsPastTheLimitAreRefused) {
  start_endpoints(1);
  GatewayOptions o = default_options();
  o.max_connections = 2;
  start_gateway(std::move(o));
  asio::io_context ioc;
  asio::ip::tcp::socket a(ioc), b(ioc), c(ioc);
  a.connect({asio::ip::make_address("127.0.0.1"), port()});
  b.connect({asio::ip::make_address("127.0.0.1"), port()});
  // Two idle connections hold the limit: a third is answered 503 and closed.
  std::string got;
  ASSERT_TRUE(wait_until([&] {
    asio::ip::tcp::socket probe(ioc);
    probe.connect({asio::ip::make_address("127.0.0.1"), port()});
    got = read_all(probe);
    return got.rfind("HTTP/1.1 503", 0) == 0;
  })) << got;
  EXPECT_NE(got.find("connections"), std::string::npos) << got;
  // A held connection still works.
  const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(a, asio::buffer(request));
  EXPECT_EQ(read_all(a).rfind("HTTP/1.1 200", 0), 0u);
  // Once it is closed, a new connection is served again.
  a.close();
  ASSERT_TRUE(wait_until([&] {
    asio::ip::tcp::socket probe(ioc);
    probe.connect({asio::ip::make_address("127.0.0.1"), port()});
    asio::write(probe, asio::buffer(request));
    got = read_all(probe);
    return got.rfind("HTTP/1.1 200", 0) == 0;
  })) << got;
}

std::string exchange(uint16_t port, const std::string& request) {
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(request));
  return read_all(socket);
}

TEST_F(HostileClientsTest, SlowRequestBodyGets408) {
  start_endpoints(1);
  GatewayOptions o = default_options();
  o.client_timeout = std::chrono::milliseconds(300);
  start_gateway(std::move(o));
  // The header promises 100 bytes; 10 come, then nothing.
  const std::string got = exchange(
      port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\":");
  EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got;
  EXPECT_NE(got.find("RequestTimeoutError"), std::string::npos) << got;
  EXPECT_NE(got.find("request body not received within 300 ms"), std::string::npos) << got;
  EXPECT_EQ(endpoints_[0]->requests(), 0u);
}

TEST_F(HostileClientsTest, MalformedChunkedBodyGets400) {
  start_endpoints(1);
  start_gateway(default_options());
  // "zz" is no chunk size.
  const std::string got = exchange(port(),
                                   "POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
  EXPECT_NE(got.find("malformed HTTP request body"), std::string::npos) << got;
  EXPECT_NE(got.find("BadRequestError"), std::string::npos) << got;
  EXPECT_EQ(endpoints_[0]->requests(), 0u);
}

TEST_F(HostileClientsTest, OversizedHeaderGets431) {
  start_endpoints(1);
  start_gateway(default_options());
  const std::string got =
      exchange(port(), "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 * 1024, 'a') +
                           "\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 431", 0), 0u) << got.substr(0, 200);
  EXPECT_NE(got.find("RequestHeaderFieldsTooLargeError"), std::string::npos) << got.substr(0, 400);
  EXPECT_EQ(endpoints_[0]->requests(), 0u);
}

}  // namespace
}  // namespace kvtier::router::testing
