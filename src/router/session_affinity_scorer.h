#pragma once
// session-affinity-scorer (llm-d-inference-scheduler): the endpoint that served a session before
// scores 1, every other 0. The session names its endpoint itself: each response carries
// `x-session-token: base64("host:port")` (llm-d puts the pod's namespace/name there; the router's
// endpoints are addresses), which the client sends back on its next request. Later llm-d
// releases carry the same token in an `llm-d-session` cookie: the router reads either and sets
// both. No state is kept, so the scorer is trivially thread-safe.
#include <optional>
#include <string>

#include "router/scorer.h"

namespace kvtier::router {

inline constexpr std::string_view kSessionTokenHeader = "x-session-token";
inline constexpr std::string_view kSessionCookie = "llm-d-session";

class SessionAffinityScorer : public Scorer {
 public:
  // max_age_s: the cookie's Max-Age; 0 makes it a browser-session cookie (no Max-Age).
  explicit SessionAffinityScorer(int64_t max_age_s = 0) : max_age_s_(max_age_s) {}

  std::string_view type() const override { return "session-affinity-scorer"; }
  std::vector<double> score(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates) override;
  void response_headers(const SchedulingRequest& request, const EndpointView& chosen,
                        ResponseHeaders& out) const override;

  static std::string token_for(std::string_view endpoint_id);
  // The endpoint id a request's session names, from its header or else its cookie.
  static std::optional<std::string> session_endpoint(const SchedulingRequest& request);

 private:
  int64_t max_age_s_;
};

}  // namespace kvtier::router
