#pragma once
// Where a model's weights come from, as vLLM's --load-format names it: the checkpoint's
// safetensors files, or "dummy" random weights made at load time (no checkpoint on disk; the
// folder needs only config.json, or MODEL names a preset), so an 8B or 14B run starts in seconds.
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"
#include "model/config.h"

namespace kvtier::model {

enum class LoadFormat { kAuto, kSafetensors, kDummy };

// "auto", "safetensors" or "dummy"; vLLM's other formats (pt, npcache, gguf, ...) are refused by
// name.
Expected<LoadFormat> parse_load_format(std::string_view name);

// The model's shapes: `model` is a folder with config.json; with kDummy it may instead name a
// preset ("qwen3-8b", see presets.h) when no such folder exists.
Expected<ModelConfig> resolve_model_config(const std::filesystem::path& model, LoadFormat format);

// Whether `model` is a preset name standing in for a folder (dummy weights only).
bool is_preset_model(const std::filesystem::path& model, LoadFormat format);

}  // namespace kvtier::model
