#include "router/endpoint.h"

#include <cctype>
#include <charconv>

namespace kvtier::router {
namespace {

bool label_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// A label name or value: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends.
bool valid_label_segment(std::string_view s, bool may_be_empty) {
  if (s.empty()) return may_be_empty;
  if (s.size() > 63) return false;
  for (char c : s) {
    if (!label_char(c)) return false;
  }
  return std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::isalnum(static_cast<unsigned char>(s.back()));
}

// "prefix/name" (prefix a DNS subdomain) or "name", as Kubernetes label keys are.
bool valid_label_key(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return valid_label_segment(key, false);
  const std::string_view prefix = key.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253) return false;
  for (char c : prefix) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return valid_label_segment(key.substr(slash + 1), false);
}

Status parse_labels(std::string_view query, const std::string& original, EndpointLabels& out) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return invalid_argument("endpoint '{}': label '{}' needs a value (KEY=VALUE)", original,
                              pair);
    }
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = pair.substr(eq + 1);
    if (!valid_label_key(key)) {
      return invalid_argument(
          "endpoint '{}': label key '{}' is not a Kubernetes label key ([prefix/]name, name at "
          "most 63 of [A-Za-z0-9._-], alphanumeric at both ends)",
          original, key);
    }
    if (!valid_label_segment(value, true)) {
      return invalid_argument(
          "endpoint '{}': label '{}' has value '{}', not a Kubernetes label value (at most 63 "
          "of [A-Za-z0-9._-], alphanumeric at both ends)",
          original, key, value);
    }
    if (!out.emplace(std::string(key), std::string(value)).second) {
      return invalid_argument("endpoint '{}': label '{}' is given twice", original, key);
    }
  }
  return Status::ok();
}

}  // namespace

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
  EndpointAddress address;
  if (auto question = url.find('?'); question != std::string_view::npos) {
    KVTIER_RETURN_IF_ERROR(parse_labels(url.substr(question + 1), original, address.labels));
    url = url.substr(0, question);
  }
  if (auto slash = url.find('/'); slash != std::string_view::npos) {
    if (url.substr(slash) != "/") {
      return invalid_argument("endpoint '{}': a path is not allowed, use http://HOST:PORT",
                              original);
    }
    url = url.substr(0, slash);
  }
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
