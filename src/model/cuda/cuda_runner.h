#pragma once
// The CUDA backend's entry point, called by create_model_runner() for device "cuda".
#include <memory>

#include "common/status.h"
#include "model/model_runner.h"

namespace kvtier::model {

Expected<std::unique_ptr<ModelRunner>> create_cuda_model_runner(const RunnerOptions& options);

}  // namespace kvtier::model
