#include "model/model_runner.h"

#include "model/cpu_model_runner.h"

// The CUDA backend plugs in here when the build has it.
#if defined(KVTIER_HAVE_CUDA) && __has_include("model/cuda/cuda_runner.h")
#include "model/cuda/cuda_runner.h"
#define KVTIER_MODEL_HAS_CUDA_RUNNER 1
#endif

namespace kvtier::model {

Status ModelRunner::forward_sample(const ForwardBatch&, std::span<const SampleSpec>,
                                   std::vector<SampledToken>&) {
  return make_error(ErrorCode::kUnimplemented,
                    "this model runner does not sample on the device (use forward())");
}

Expected<std::unique_ptr<ModelRunner>> create_model_runner(const RunnerOptions& options) {
  if (options.device == "cpu") {
    KVTIER_ASSIGN_OR_RETURN(auto runner, CpuModelRunner::create(options));
    return std::unique_ptr<ModelRunner>(std::move(runner));
  }
  if (options.device == "cuda") {
#ifdef KVTIER_MODEL_HAS_CUDA_RUNNER
    return create_cuda_model_runner(options);
#else
    return make_error(ErrorCode::kUnimplemented,
                      "device 'cuda': this kvtier build has no CUDA backend (configure with "
                      "-DKVTIER_CUDA=ON on a machine with the CUDA toolkit)");
#endif
  }
  return invalid_argument("unknown device '{}' (expected cpu or cuda)", options.device);
}

}  // namespace kvtier::model
