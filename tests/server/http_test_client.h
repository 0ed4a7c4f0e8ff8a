#pragma once
// A blocking HTTP/1.1 client for tests (Boost.Beast), plus raw socket access for malformed,
// slow and vanishing clients. Reads time out (SO_RCVTIMEO) so a broken server fails a test
// instead of hanging it.
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace kvtier::server::testing {

struct ClientResponse {
  int status = 0;  // 0: no response (connection closed or timed out)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
};

class HttpTestClient {
 public:
  explicit HttpTestClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(20))
      : socket_(ioc_) {
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    boost::system::error_code ec;
    socket_.connect(endpoint, ec);
    connected_ = !ec;
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  bool connected() const { return connected_; }

  void send_request(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    unsigned version = 11) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req{http::string_to_verb(method), target, version};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty() || method == "POST") req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    boost::system::error_code ec;
    http::write(socket_, req, ec);
  }

  ClientResponse read_response() {
    namespace http = boost::beast::http;
    ClientResponse out;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t(1) << 30);
    boost::system::error_code ec;
    http::read(socket_, buffer_, parser, ec);
    if (ec) {
      out.error = ec.message();
      return out;
    }
    auto& res = parser.get();
    out.status = int(res.result_int());
    out.body = res.body();
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(field.value());
    }
    return out;
  }

  ClientResponse request(const std::string& method, const std::string& target,
                         const std::string& body = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    send_request(method, target, body, headers);
    return read_response();
  }

  void write_raw(const std::string& bytes) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes), ec);
  }

  // Up to `max` bytes; empty at EOF, on a timeout or an error.
  std::string read_some(size_t max = 65536) {
    std::string data(max, '\0');
    boost::system::error_code ec;
    size_t n = socket_.read_some(boost::asio::buffer(data), ec);
    data.resize(ec ? 0 : n);
    return data;
  }

  // Reads until `needle` appears (returns everything read) or the connection ends.
  std::string read_until(const std::string& needle) {
    std::string all = boost::beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    while (all.find(needle) == std::string::npos) {
      std::string more = read_some();
      if (more.empty()) break;
      all += more;
    }
    return all;
  }

  // True when the server closed the connection (EOF or reset) within the read timeout.
  bool closed_by_server() {
    char byte;
    boost::system::error_code ec;
    size_t n = socket_.read_some(boost::asio::buffer(&byte, 1), ec);
    return n == 0 && (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset);
  }

  void close() {
    boost::system::error_code ec;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace kvtier::server::testing
