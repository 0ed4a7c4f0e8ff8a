#include <fstream>
#include <sstream>

#include "model/mapped_file.h"
#include "server/api_request.h"

namespace kvtier::server {

Expected<SamplingDefaults> read_generation_config(const std::filesystem::path& model_dir) {
  std::filesystem::path path = model_dir / "generation_config.json";
  SamplingDefaults defaults;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return defaults;
  KVTIER_RETURN_IF_ERROR(model::require_regular_file(path));
  std::ifstream in(path);
  if (!in) return invalid_argument("cannot read {}", path.string());
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json config = nlohmann::json::parse(text.str(), nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return data_loss("{} is not a JSON object", path.string());
  }
  auto number = [&](const char* key, auto& out) -> Status {
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return Status::ok();
    if (!it->is_number()) {
      return data_loss("{}: {} must be a number, got {}", path.string(), key, it->dump());
    }
    out = it->get<typename std::decay_t<decltype(out)>::value_type>();
    return Status::ok();
  };
  KVTIER_RETURN_IF_ERROR(number("temperature", defaults.temperature));
  KVTIER_RETURN_IF_ERROR(number("top_p", defaults.top_p));
  KVTIER_RETURN_IF_ERROR(number("top_k", defaults.top_k));
  KVTIER_RETURN_IF_ERROR(number("min_p", defaults.min_p));
  KVTIER_RETURN_IF_ERROR(number("repetition_penalty", defaults.repetition_penalty));
  KVTIER_RETURN_IF_ERROR(number("max_new_tokens", defaults.max_tokens));
  return defaults;
}

}  // namespace kvtier::server
