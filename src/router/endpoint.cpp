#include "router/endpoint.h"

#include <charconv>

namespace kvtier::router {

std::string EndpointAddress::id() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Expected<EndpointAddress> EndpointAddress::parse(std::string_view url) {
  const std::string original(url);
  if (url.starts_with("https://")) {
    return invalid_argument("endpoint '{}': https is not supported, use http://HOST:PORT",
                            original);
  }
  if (url.starts_with("http://")) url.remove_prefix(7);
  if (auto slash = url.find('/'); slash != std::string_view::npos) {
    if (url.substr(slash) != "/") {
      return invalid_argument("endpoint '{}': a path is not allowed, use http://HOST:PORT",
                              original);
    }
    url = url.substr(0, slash);
  }
  EndpointAddress address;
  std::string_view port_text;
  if (url.starts_with("[")) {
    const auto close = url.find(']');
    if (close == std::string_view::npos || close + 1 >= url.size() || url[close + 1] != ':') {
      return invalid_argument("endpoint '{}': expected [IPv6]:PORT", original);
    }
    address.host = std::string(url.substr(1, close - 1));
    port_text = url.substr(close + 2);
  } else {
    const auto colon = url.rfind(':');
    if (colon == std::string_view::npos) {
      return invalid_argument("endpoint '{}': missing port, use http://HOST:PORT", original);
    }
    address.host = std::string(url.substr(0, colon));
    port_text = url.substr(colon + 1);
  }
  if (address.host.empty()) return invalid_argument("endpoint '{}': missing host", original);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return invalid_argument("endpoint '{}': port '{}' is not a number in 1..65535", original,
                            port_text);
  }
  address.port = static_cast<uint16_t>(port);
  return address;
}

}  // namespace kvtier::router
