#pragma once
// Conversions between the checkpoint dtypes (bf16, fp16, fp32) and fp32, element by element,
// reading and writing unaligned little-endian bytes (safetensors data need not be aligned).
#include <cstddef>
#include <cstdint>

#include "model/config.h"

namespace kvtier::model {

float bf16_to_float(uint16_t bits);
uint16_t float_to_bf16(float v);  // round to nearest even; NaN stays NaN
float fp16_to_float(uint16_t bits);
uint16_t float_to_fp16(float v);  // round to nearest even; overflow becomes infinity

void convert_to_float(DType src_dtype, const std::byte* src, int64_t n, float* dst);
void convert_from_float(DType dst_dtype, const float* src, int64_t n, std::byte* dst);

}  // namespace kvtier::model
