#pragma once
// Model shapes `kvtier make-model --preset` knows: the embedded tiny default and the real
// Qwen3 shapes (Hugging Face config.json values).
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/config.h"

namespace kvtier::model {

// "tiny", "qwen3-0.6b", "qwen3-8b", "qwen3-14b".
const std::vector<std::string>& preset_names();
Expected<ModelConfig> preset_config(std::string_view name);

}  // namespace kvtier::model
