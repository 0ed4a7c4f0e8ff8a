#include "kernels/gemm.h"

#include <cblas.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>

namespace kvtier::kernels::cpu {

namespace {

// OpenBLAS picks its kernels from the CPU id when the library loads; on CPUs newer than the
// library (or behind a hypervisor that hides the model) it falls back to generic SSE3 kernels
// that run about 2x slower. The choice can only be overridden from the environment.
void warn_about_generic_kernels() {
  const std::string core = openblas_get_corename();
  if (core != "Prescott" && core != "Core2" && core != "Nehalem" && core != "Atom") return;
  const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                         : nullptr;
  if (!better || std::getenv("OPENBLAS_CORETYPE")) return;
  spdlog::warn(
      "OpenBLAS uses its generic '{}' kernels on this CPU; set OPENBLAS_CORETYPE={} for "
      "about 2x faster matrix products on the CPU backend",
      core, better);
}

}  // namespace

void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] {
    openblas_set_num_threads(1);
    warn_about_generic_kernels();
  });
}

void linear(ThreadPool& pool, const float* x, int64_t m, int64_t k, const float* w, int64_t n,
            float* y) {
  use_single_threaded_blas();
  if (m <= 0 || n <= 0) return;
  auto run = [&](int64_t n0, int64_t n1) {
    if (m == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(n1 - n0), int(k), 1.0f, w + n0 * k, int(k), x, 1,
                  0.0f, y + n0, 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n1 - n0), int(k), 1.0f, x,
                  int(k), w + n0 * k, int(k), 0.0f, y + n0, int(n));
    }
  };
  // Below ~64k multiply-adds the threads cost more than they save.
  constexpr int64_t kMinWorkPerThread = 1 << 16;
  int threads =
      int(std::min<int64_t>(pool.size(), std::max<int64_t>(1, m * n * k / kMinWorkPerThread)));
  if (threads <= 1) {
    run(0, n);
    return;
  }
  // Column slices in multiples of 16 keep BLAS on its fast paths.
  int64_t slice = (n + threads - 1) / threads;
  slice = (slice + 15) / 16 * 16;
  int64_t slices = (n + slice - 1) / slice;
  pool.parallel_for(slices, [&](int64_t begin, int64_t end, int) {
    for (int64_t s = begin; s < end; ++s) run(s * slice, std::min(n, (s + 1) * slice));
  });
}

}  // namespace kvtier::kernels::cpu
