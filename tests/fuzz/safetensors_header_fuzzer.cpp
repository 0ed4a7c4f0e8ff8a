// The safetensors header parser over whole-file bytes (length prefix, JSON header, data).
// Invariants: every tensor it returns lies inside the data section, holds exactly
// numel x dtype-size bytes, and no two tensors overlap (the loader maps views from these).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz/fuzz_check.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvtier::model;
  std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  auto tensors = parse_safetensors_header(file, "fuzz.safetensors");
  if (!tensors) {
    FUZZ_CHECK(!tensors.error().message().empty(), "an error names what is wrong");
    return 0;
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
  std::vector<std::pair<size_t, size_t>> ranges;
  for (const TensorInfo& t : *tensors) {
    FUZZ_CHECK(t.file_offset >= 8 + header_len, "tensor starts after the header");
    FUZZ_CHECK(t.file_offset <= size && t.nbytes <= size - t.file_offset, "tensor inside the file");
    FUZZ_CHECK(uint64_t(t.numel()) * uint64_t(dtype_size(t.dtype)) == t.nbytes,
               "bytes match shape and dtype");
    if (t.nbytes > 0) ranges.emplace_back(t.file_offset, t.file_offset + t.nbytes);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    FUZZ_CHECK(ranges[i].first >= ranges[i - 1].second, "tensors do not overlap");
  return 0;
}
