// The Prometheus text reader behind the router's endpoint scraper and the monitor. Invariants:
// a malformed line is an error naming it; the visiting and the collecting entry points agree;
// each sample has a name.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/prometheus_text.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto samples = kvtier::parse_prometheus_text(text);
  size_t visited = 0;
  kvtier::Status status = kvtier::for_each_prometheus_sample(
      text, [&](const kvtier::PrometheusSample& s) {
        FUZZ_CHECK(!s.name.empty(), "a sample has a name");
        ++visited;
      });
  FUZZ_CHECK(status.is_ok() == samples.has_value(), "both entry points agree on errors");
  if (!samples) {
    FUZZ_CHECK(!samples.error().message().empty(), "an error names what is wrong");
    return 0;
  }
  FUZZ_CHECK(visited == samples->size(), "both entry points see the same samples");
  return 0;
}
