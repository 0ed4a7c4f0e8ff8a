#pragma once
// What the integration tests share besides the serve process: polling for a condition and
// picking a free local port.
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <thread>

namespace kvtier::testing {

// True once `pred()` holds, polled every 10 ms; false if it still does not after `limit`.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(30000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// A local TCP port nothing listened on a moment ago (bound to port 0, then released).
inline uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

}  // namespace kvtier::testing
