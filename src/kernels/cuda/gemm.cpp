#include "kernels/cuda/gemm.h"

#include "kernels/cuda/cuda_check.h"

namespace kvtier::kernels::cuda {
namespace {

Status lt_status(cublasStatus_t st, const char* what) {
  if (st == CUBLAS_STATUS_SUCCESS) return Status::ok();
  return make_error(ErrorCode::kInternal, "cuBLASLt error in {}: {} ({})", what,
                    cublasLtGetStatusName(st), cublasLtGetStatusString(st));
}

#define KVTIER_LT_RETURN_IF_ERROR(call) KVTIER_RETURN_IF_ERROR(lt_status((call), #call))

}  // namespace

const char* small_batch_gemm_name(SmallBatchGemm g) {
  switch (g) {
    case SmallBatchGemm::kAuto:
      return "auto";
    case SmallBatchGemm::kScalarThenTensorCore:
      return "scalar-then-tensor-core";
    case SmallBatchGemm::kTensorCore:
      return "tensor-core";
    case SmallBatchGemm::kScalar:
      return "scalar";
    case SmallBatchGemm::kCublasLt:
      return "cublaslt";
  }
  return "?";
}

Expected<std::unique_ptr<Gemm>> Gemm::create(const Options& options) {
  std::unique_ptr<Gemm> g(new Gemm(options));
  KVTIER_LT_RETURN_IF_ERROR(cublasLtCreate(&g->handle_));
  KVTIER_ASSIGN_OR_RETURN(g->workspace_,
                          DeviceBuffer::allocate(options.workspace_bytes, "cuBLASLt workspace"));
  return g;
}

Gemm::~Gemm() {
  for (auto& [key, p] : plans_) {
    cublasLtMatrixLayoutDestroy(p.a);
    cublasLtMatrixLayoutDestroy(p.b);
    cublasLtMatrixLayoutDestroy(p.c);
    cublasLtMatmulDescDestroy(p.op);
  }
  if (handle_) cublasLtDestroy(handle_);
}

// Column-major view: y^T [n x m] = W [k x n]^T * x^T [k x m], so A = W (transposed, ld k),
// B = x (ld k), C = D = y (ld n).
Expected<const Gemm::Plan*> Gemm::plan_for(int32_t m, int32_t n, int32_t k, OutType out) {
  const auto key = std::make_tuple(m, n, k, int(out));
  if (auto it = plans_.find(key); it != plans_.end()) return &it->second;
  Plan p;
  const cudaDataType_t out_type = out == OutType::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  KVTIER_LT_RETURN_IF_ERROR(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t trans = CUBLAS_OP_T, no_trans = CUBLAS_OP_N;
  KVTIER_LT_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof(trans)));
  KVTIER_LT_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB,
                                                           &no_trans, sizeof(no_trans)));
  KVTIER_LT_RETURN_IF_ERROR(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_16BF, k, n, k));
  KVTIER_LT_RETURN_IF_ERROR(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_16BF, k, m, k));
  KVTIER_LT_RETURN_IF_ERROR(cublasLtMatrixLayoutCreate(&p.c, out_type, n, m, n));

  cublasLtMatmulPreference_t pref = nullptr;
  KVTIER_LT_RETURN_IF_ERROR(cublasLtMatmulPreferenceCreate(&pref));
  const size_t ws = workspace_.bytes();
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                       sizeof(ws));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st =
      cublasLtMatmulAlgoGetHeuristic(handle_, p.op, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
    cublasLtMatrixLayoutDestroy(p.a);
    cublasLtMatrixLayoutDestroy(p.b);
    cublasLtMatrixLayoutDestroy(p.c);
    cublasLtMatmulDescDestroy(p.op);
    return make_error(ErrorCode::kUnimplemented,
                      "cuBLASLt has no algorithm for a bf16 GEMM of m={} n={} k={}", m, n, k);
  }
  p.algo = result.algo;
  return &plans_.emplace(key, p).first->second;
}

bool Gemm::small_kernel(int32_t m, SkinnyKernel& kernel) const {
  if (m <= 0 || m > kSkinnyMaxRows) return false;
  switch (options_.small_batch) {
    case SmallBatchGemm::kAuto:
      kernel = SkinnyKernel::kScalar;
      return m == 1;
    case SmallBatchGemm::kScalarThenTensorCore:
      kernel = m == 1 ? SkinnyKernel::kScalar : SkinnyKernel::kTensorCore;
      return true;
    case SmallBatchGemm::kTensorCore:
      kernel = SkinnyKernel::kTensorCore;
      return true;
    case SmallBatchGemm::kScalar:
      kernel = SkinnyKernel::kScalar;
      return true;
    case SmallBatchGemm::kCublasLt:
      return false;
  }
  return false;
}

Status Gemm::run(cudaStream_t stream, const bf16* x, const bf16* w, void* y, OutType out, int32_t m,
                 int32_t n, int32_t k) {
  if (m <= 0) return Status::ok();
  SkinnyKernel kernel;
  if (k % 8 == 0 && small_kernel(m, kernel))
    return to_status(
        skinny_gemm(stream, x, w, y, out, m, n, k, kernel, options_.dependent_launch));
  KVTIER_ASSIGN_OR_RETURN(const Plan* p, plan_for(m, n, k, out));
  const float alpha = 1.f, beta = 0.f;
  return lt_status(cublasLtMatmul(handle_, p->op, &alpha, w, p->a, x, p->b, &beta, y, p->c, y, p->c,
                                  &p->algo, workspace_.get(), workspace_.bytes(), stream),
                   "cublasLtMatmul");
}

bool Gemm::fused_gate_up_silu(int32_t m, int32_t k) const {
  SkinnyKernel kernel;
  return k % 8 == 0 && small_kernel(m, kernel) && kernel == SkinnyKernel::kScalar;
}

Status Gemm::run_gate_up_silu(cudaStream_t stream, const bf16* x, const bf16* w, bf16* act,
                              int32_t m, int32_t inter, int32_t k) {
  if (!fused_gate_up_silu(m, k))
    return make_error(ErrorCode::kInvalidArgument,
                      "run_gate_up_silu: {} rows (k = {}) are not served by the scalar kernel", m,
                      k);
  return to_status(skinny_gate_up_silu(stream, x, w, act, m, inter, k, options_.dependent_launch));
}

}  // namespace kvtier::kernels::cuda
