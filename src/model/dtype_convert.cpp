#include "model/dtype_convert.h"

#include <bit>
#include <cstring>

namespace kvtier::model {

float bf16_to_float(uint16_t bits) { return std::bit_cast<float>(uint32_t(bits) << 16); }

uint16_t float_to_bf16(float v) {
  uint32_t u = std::bit_cast<uint32_t>(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float fp16_to_float(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return float(h);
}

uint16_t float_to_fp16(float v) {
  _Float16 h = _Float16(v);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

void convert_to_float(DType src_dtype, const std::byte* src, int64_t n, float* dst) {
  switch (src_dtype) {
    case DType::kF32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        dst[i] = bf16_to_float(b);
      }
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        dst[i] = fp16_to_float(b);
      }
      return;
  }
}

void convert_from_float(DType dst_dtype, const float* src, int64_t n, std::byte* dst) {
  switch (dst_dtype) {
    case DType::kF32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t b = float_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &b, 2);
      }
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t b = float_to_fp16(src[i]);
        std::memcpy(dst + 2 * i, &b, 2);
      }
      return;
  }
}

}  // namespace kvtier::model
