#pragma once
// Linear layers y = x * W^T on bf16 with fp32 accumulation: x [m][k], W [n][k] (the Hugging Face
// layout, row-major), y [m][n] in bf16 or fp32. cuBLASLt does the work; for a few rows (decode at
// small batch) weight-streaming kernels of our own (skinny_gemm.h) read W once at full bandwidth.
// One Gemm per stream; not thread-safe. Captured into CUDA graphs as is (no allocation at run
// time: the workspace is owned here).
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "common/status.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/paged_kv.h"
#include "kernels/cuda/skinny_gemm.h"

namespace kvtier::kernels::cuda {

// Which kernel runs a GEMM of m <= kSkinnyMaxRows rows (more rows always go to cuBLASLt).
enum class SmallBatchGemm {
  kAuto,                  // the scalar kernel for one row, cuBLASLt beyond (fastest on the H200)
  kScalarThenTensorCore,  // the scalar kernel for one row, the tensor-core kernel for 2..8
  kTensorCore,            // the tensor-core kernel for 1..8
  kScalar,                // the scalar kernel for 1..8
  kCublasLt,              // cuBLASLt for every m
};
const char* small_batch_gemm_name(SmallBatchGemm g);

class Gemm {
 public:
  struct Options {
    size_t workspace_bytes = 64ull << 20;
    SmallBatchGemm small_batch = SmallBatchGemm::kAuto;
    // Our kernels are launched as programmatic dependents (dependent_launch.cuh): their weight
    // loads overlap the previous kernel's tail. cuBLASLt's launches are left as they are.
    bool dependent_launch = false;
  };
  static Expected<std::unique_ptr<Gemm>> create(const Options& options);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  Status run(cudaStream_t stream, const bf16* x, const bf16* w, void* y, OutType out, int32_t m,
             int32_t n, int32_t k);

  // act = silu(x * gate^T) * (x * up^T) for w = [gate; up] ([2 inter][k]) in one kernel when
  // the scalar kernel serves m rows (fused_gate_up_silu(m)); false from that: run() to
  // [m][2 inter] then silu_mul.
  bool fused_gate_up_silu(int32_t m, int32_t k) const;
  Status run_gate_up_silu(cudaStream_t stream, const bf16* x, const bf16* w, bf16* act, int32_t m,
                          int32_t inter, int32_t k);

  void set_small_batch(SmallBatchGemm g) { options_.small_batch = g; }
  void set_dependent_launch(bool on) { options_.dependent_launch = on; }

 private:
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  explicit Gemm(const Options& options) : options_(options) {}
  Expected<const Plan*> plan_for(int32_t m, int32_t n, int32_t k, OutType out);
  // The small-batch kernel for m rows, or false when cuBLASLt runs it.
  bool small_kernel(int32_t m, SkinnyKernel& kernel) const;

  Options options_;
  cublasLtHandle_t handle_ = nullptr;
  DeviceBuffer workspace_;
  std::map<std::tuple<int32_t, int32_t, int32_t, int>, Plan> plans_;
};

}  // namespace kvtier::kernels::cuda
