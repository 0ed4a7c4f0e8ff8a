#include "router/session_affinity_scorer.h"

#include <array>

#include <fmt/format.h>

namespace kvtier::router {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard base64 with padding, what Go's base64.StdEncoding writes and reads.
std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (i + 2 < in.size()) v |= uint32_t(uint8_t(in[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::array<int, 256> value;
  value.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i) value[uint8_t(kAlphabet[i])] = int(i);
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad || value[uint8_t(c)] < 0) return std::nullopt;
      v = (v << 6) | uint32_t(value[uint8_t(c)]);
    }
    out += char((v >> 16) & 0xff);
    if (pad < 2) out += char((v >> 8) & 0xff);
    if (pad < 1) out += char(v & 0xff);
  }
  return out;
}

// The value of cookie `name` in a Cookie header ("a=1; llm-d-session=xyz").
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace

std::string SessionAffinityScorer::token_for(std::string_view endpoint_id) {
  return base64_encode(endpoint_id);
}

std::optional<std::string> SessionAffinityScorer::session_endpoint(
    const SchedulingRequest& request) {
  if (auto token = request.header(kSessionTokenHeader); token && !token->empty()) {
    return base64_decode(*token);
  }
  if (auto cookies = request.header("cookie")) {
    if (auto token = cookie_value(*cookies, kSessionCookie)) return base64_decode(*token);
  }
  return std::nullopt;
}

std::vector<double> SessionAffinityScorer::score(const SchedulingRequest& request,
                                                 std::span<const EndpointView> candidates) {
  std::vector<double> scores(candidates.size(), 0.0);
  const std::optional<std::string> target = session_endpoint(request);
  if (!target) return scores;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].id == *target) scores[i] = 1.0;
  }
  return scores;
}

void SessionAffinityScorer::response_headers(const SchedulingRequest& request,
                                             const EndpointView& chosen,
                                             ResponseHeaders& out) const {
  const std::string token = token_for(chosen.id);
  out.emplace_back(std::string(kSessionTokenHeader), token);
  if (auto cookies = request.header("cookie")) {
    if (cookie_value(*cookies, kSessionCookie) == std::string_view(token)) return;
  }
  std::string cookie = fmt::format("{}={}; Path=/", kSessionCookie, token);
  if (max_age_s_ > 0) cookie += fmt::format("; Max-Age={}", max_age_s_);
  cookie += "; HttpOnly; SameSite=Lax";
  out.emplace_back("set-cookie", std::move(cookie));
}

}  // namespace kvtier::router
