// The Server-Sent Events parser `kvtier bench` reads streams with. The first byte of the input
// picks chunk sizes; the rest is the stream. Invariant: the events are the same whether the
// stream arrives whole or split into arbitrary pieces (a network may cut anywhere).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sse_parser.h"
#include "fuzz/fuzz_check.h"

namespace {

std::vector<std::string> parse(std::string_view stream, size_t chunk) {
  std::vector<std::string> events;
  auto collect = [&](std::string_view data) { events.emplace_back(data); };
  kvtier::bench::SseParser parser;
  for (size_t pos = 0; pos < stream.size(); pos += chunk) {
    if (!parser.feed(stream.substr(pos, chunk), collect)) break;
  }
  parser.finish(collect);
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<std::string> whole = parse(stream, stream.size() + 1);
  const size_t chunk = data[0] % 7 + 1;
  FUZZ_CHECK(parse(stream, chunk) == whole, "split stream gives the same events");
  FUZZ_CHECK(parse(stream, 1) == whole, "byte-by-byte stream gives the same events");
  return 0;
}
