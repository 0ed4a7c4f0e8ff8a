#pragma once
// Helpers for the CUDA kernel tests: a device array with upload/download, bf16 conversions on the
// host, a fixture that skips when the machine has no GPU, and seeded random data.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"

namespace kvtier::kernels::cuda::testing {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
    ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
  }
  void sync() { ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess); }
  cudaStream_t stream_ = nullptr;
};

template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n) : n_(n) {
    auto b = DeviceBuffer::allocate(std::max<size_t>(n, 1) * sizeof(T), "test array");
    EXPECT_TRUE(b.has_value()) << b.status().to_string();
    if (b) buf_ = std::move(*b);
  }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  void upload(const std::vector<T>& host) {
    EXPECT_EQ(cudaMemcpy(buf_.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    EXPECT_EQ(cudaMemcpy(host.data(), buf_.get(), n_ * sizeof(T), cudaMemcpyDeviceToHost),
              cudaSuccess);
    return host;
  }
  // Fills every byte with `byte` so that unwritten outputs show up.
  void poison(int byte = 0x7f) {
    EXPECT_EQ(cudaMemset(buf_.get(), byte, n_ * sizeof(T)), cudaSuccess);
  }
  T* get() const { return buf_.get<T>(); }
  size_t size() const { return n_; }

 private:
  DeviceBuffer buf_;
  size_t n_ = 0;
};

inline float bf(__nv_bfloat16 v) { return __bfloat162float(v); }
inline __nv_bfloat16 to_bf(float v) { return __float2bfloat16(v); }

inline std::vector<__nv_bfloat16> random_bf16(size_t n, uint32_t seed, float lo = -1.f,
                                              float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<__nv_bfloat16> v(n);
  for (auto& x : v) x = to_bf(dist(rng));
  return v;
}

inline std::vector<float> random_f32(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace kvtier::kernels::cuda::testing
