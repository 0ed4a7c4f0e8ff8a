#pragma once
// GET every target's metrics page at once and wait for all of them, each bounded by a deadline
// and a body size cap. Runs on the caller's thread (its own io_context per call).
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"
#include "monitor/scrape_target.h"

namespace kvtier::monitor {

inline constexpr size_t kMaxScrapeBytes = 16u << 20;

// One result per target, in order: the body of a 200 reply, or why there is none (refused,
// timed out, over `max_bytes`, another status).
std::vector<Expected<std::string>> scrape_all(const std::vector<ScrapeTarget>& targets,
                                              std::chrono::milliseconds timeout,
                                              size_t max_bytes = kMaxScrapeBytes);

}  // namespace kvtier::monitor
