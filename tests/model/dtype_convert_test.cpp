#include "model/dtype_convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace kvtier::model {
namespace {

TEST(DtypeConvert, Bf16KnownValuesAndRounding) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);
  // 1 + 2^-8 lies halfway between two bf16 values: ties go to even (1.0).
  EXPECT_EQ(float_to_bf16(1.0f + 0x1.0p-8f), 0x3f80);
  // 1 + 3 * 2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even): rounds up to even.
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1.0p-8f), 0x3f82);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1.8p-8f), 0x3f81);  // above half: rounds up
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(bf16_to_float(float_to_bf16(std::numeric_limits<float>::infinity()))));
}

TEST(DtypeConvert, Fp16KnownValuesAndRounding) {
  EXPECT_EQ(float_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(float_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(float_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_fp16(1e6f), 0x7c00);  // overflow: +inf
  EXPECT_EQ(fp16_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(fp16_to_float(0x0001), 0x1.0p-24f);         // smallest subnormal
  EXPECT_EQ(float_to_fp16(1.0f + 0x1.0p-11f), 0x3c00);  // tie to even
}

TEST(DtypeConvert, ArraysRoundTripExactValues) {
  const std::vector<float> values = {0.0f, -0.0f, 1.0f, -1.5f, 0.09375f, 1024.0f, -3.0f};
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    std::vector<std::byte> bytes(values.size() * dtype_size(t) + 1);
    // Odd offset: conversions must not assume alignment.
    convert_from_float(t, values.data(), int64_t(values.size()), bytes.data() + 1);
    std::vector<float> back(values.size());
    convert_to_float(t, bytes.data() + 1, int64_t(values.size()), back.data());
    EXPECT_EQ(back, values) << dtype_name(t);
  }
}

}  // namespace
}  // namespace kvtier::model
