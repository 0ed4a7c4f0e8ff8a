#include "model/load_format.h"

#include "model/presets.h"

namespace kvtier::model {

Expected<LoadFormat> parse_load_format(std::string_view name) {
  if (name == "auto") return LoadFormat::kAuto;
  if (name == "safetensors") return LoadFormat::kSafetensors;
  if (name == "dummy") return LoadFormat::kDummy;
  static constexpr std::string_view kVllmOnly[] = {"pt", "npcache", "tensorizer", "sharded_state",
                                                   "gguf", "bitsandbytes", "mistral",
                                                   "runai_streamer", "fastsafetensors"};
  for (std::string_view other : kVllmOnly) {
    if (name == other) {
      return make_error(ErrorCode::kUnimplemented,
                        "--load-format {}: not supported by kvtier (auto, safetensors or dummy)",
                        name);
    }
  }
  return invalid_argument("--load-format '{}': expected auto, safetensors or dummy", name);
}

bool is_preset_model(const std::filesystem::path& model, LoadFormat format) {
  std::error_code ec;
  return format == LoadFormat::kDummy && !std::filesystem::exists(model, ec) &&
         preset_config(model.string()).has_value();
}

Expected<ModelConfig> resolve_model_config(const std::filesystem::path& model, LoadFormat format) {
  if (is_preset_model(model, format)) return preset_config(model.string());
  std::error_code ec;
  if (format == LoadFormat::kDummy && !std::filesystem::exists(model, ec)) {
    std::string presets;
    for (const auto& name : preset_names()) presets += (presets.empty() ? "" : ", ") + name;
    return not_found("model '{}' is neither a folder nor a preset ({})", model.string(), presets);
  }
  return load_config(model);
}

}  // namespace kvtier::model
