#pragma once
// What the integration tests share besides the serve process: polling for a condition.
#include <chrono>
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

}  // namespace kvtier::testing
