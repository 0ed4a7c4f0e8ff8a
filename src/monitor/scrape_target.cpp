#include "monitor/scrape_target.h"

#include <charconv>

namespace kvtier::monitor {
namespace {

bool valid_component(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

bool loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace

Expected<ScrapeTarget> ScrapeTarget::parse(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos) {
    return invalid_argument("--scrape '{}': expected NAME=URL, e.g. engine=http://127.0.0.1:8000/metrics",
                            spec);
  }
  ScrapeTarget t;
  t.name = spec.substr(0, eq);
  t.url = spec.substr(eq + 1);
  if (!valid_component(t.name)) {
    return invalid_argument("--scrape '{}': name '{}' must be letters, digits and '_', starting "
                            "with a letter (it becomes openmetrics.{}.*)",
                            spec, t.name, t.name);
  }
  std::string rest = t.url;
  if (!rest.starts_with("http://")) {
    return invalid_argument("--scrape '{}': only http:// URLs are scraped", spec);
  }
  rest = rest.substr(7);
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    t.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  std::string port_text;
  if (rest.starts_with("[")) {
    const size_t close = rest.find(']');
    if (close == std::string::npos) return invalid_argument("--scrape '{}': unclosed '['", spec);
    t.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_text = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    t.host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (port_text.empty()) {
    t.port = 80;
  } else {
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), t.port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || t.port <= 0 ||
        t.port > 65535) {
      return invalid_argument("--scrape '{}': bad port '{}'", spec, port_text);
    }
  }
  if (!loopback(t.host)) {
    return invalid_argument("--scrape '{}': host '{}' is not a loopback address (127.0.0.1, "
                            "localhost, ::1): the monitor scrapes only this machine",
                            spec, t.host);
  }
  return t;
}

}  // namespace kvtier::monitor
