// An endpoint that dies mid-stream: the router's client gets an SSE error event after the
// events already relayed, and the connection closes, instead of a silently cut body.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "gateway_fixture.h"

namespace kvtier::router::testing {
namespace {

class HostileStreamTest : public GatewayFixture {};

TEST_F(HostileStreamTest, EndpointDeathMidStreamEndsWithAnSseErrorEvent) {
  start_endpoints(1);
  start_gateway();
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port()});
  // 200 events 50 ms apart: ten seconds of stream, killed after the first event.
  nlohmann::json body = {
      {"prompt", "hello"}, {"stream", true}, {"sim_chunks", 200}, {"sim_interval_us", 50000}};
  const std::string payload = body.dump();
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                              std::to_string(payload.size()) + "\r\n\r\n" + payload;
  asio::write(socket, asio::buffer(request));
  std::string got;
  std::vector<char> buf(64 * 1024);
  while (got.find("data: {") == std::string::npos) {
    boost::system::error_code ec;
    size_t n = socket.read_some(asio::buffer(buf), ec);
    ASSERT_FALSE(ec) << ec.message() << "\n" << got;
    got.append(buf.data(), n);
  }
  endpoints_[0]->stop();
  // The router must end the response and close; a regression shows as a missing event, not a
  // hang (the endpoint's close is seen at once).
  for (;;) {
    boost::system::error_code ec;
    size_t n = socket.read_some(asio::buffer(buf), ec);
    got.append(buf.data(), n);
    if (ec) break;
  }
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  const size_t error_at = got.find("data: {\"error\":");
  ASSERT_NE(error_at, std::string::npos) << got;
  const size_t line_end = got.find('\n', error_at);
  ASSERT_NE(line_end, std::string::npos);
  auto event =
      nlohmann::json::parse(got.substr(error_at + 6, line_end - error_at - 6), nullptr, false);
  ASSERT_TRUE(event.is_object()) << got.substr(error_at);
  EXPECT_EQ(event["error"]["code"], 502);
  EXPECT_NE(event["error"]["message"].get<std::string>().find("endpoint"), std::string::npos);
  EXPECT_EQ(got.find("data: [DONE]"), std::string::npos) << "a cut stream must not look complete";
  // The chunked body is terminated after the error event.
  EXPECT_NE(got.find("\r\n0\r\n\r\n", error_at), std::string::npos) << got.substr(error_at);
}

}  // namespace
}  // namespace kvtier::router::testing
