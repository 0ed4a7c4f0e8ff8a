#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "model/config.h"
#include "model/mapped_file.h"
#include "server/api_request.h"

namespace kvtier::server {
namespace {

using nlohmann::json;

// One numeric field of generation_config.json, checked against the same ranges a request's
// sampling parameters must meet: a value no request could use is the file's fault, reported at
// start, not a 400 blaming every client later.
class FieldReader {
 public:
  FieldReader(const json& config, const std::filesystem::path& path)
      : config_(config), path_(path.string()) {}

  // `ok` is the accepted range, `range` how the message states it.
  Status real(const char* key, bool (*ok)(double), const char* range,
              std::optional<float>& out) const {
    const json* v = find(key);
    if (!v) return Status::ok();
    if (!v->is_number()) return not_number(key, *v);
    const double x = v->get<double>();
    if (!std::isfinite(float(x)) || !ok(x)) return out_of_range(key, range, v->dump());
    out = float(x);
    return Status::ok();
  }

  template <typename Int>
  Status integer(const char* key, int64_t min, const char* range, std::optional<Int>& out) const {
    const json* v = find(key);
    if (!v) return Status::ok();
    if (!v->is_number()) return not_number(key, *v);
    if (!v->is_number_integer()) return out_of_range(key, range, v->dump());
    // Unsigned JSON integers above INT64_MAX read back negative: refuse them as too large.
    const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)
                          ? std::numeric_limits<int64_t>::max()
                          : v->get<int64_t>();
    if (x < min || x > int64_t(std::numeric_limits<Int>::max()))
      return out_of_range(key, range, v->dump());
    out = Int(x);
    return Status::ok();
  }

  // eos_token_id: one id or a list of ids.
  Status token_ids(const char* key, std::vector<int32_t>& out) const {
    const json* v = find(key);
    if (!v) return Status::ok();
    auto take = [&](const json& id) -> Status {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        return data_loss("{}: {} must be a token id or a list of token ids, got {}", path_, key,
                         v->dump());
      out.push_back(id.get<int32_t>());
      return Status::ok();
    };
    if (!v->is_array()) return take(*v);
    for (const auto& id : *v) KVTIER_RETURN_IF_ERROR(take(id));
    return Status::ok();
  }

 private:
  const json* find(const char* key) const {
    auto it = config_.find(key);
    return it == config_.end() || it->is_null() ? nullptr : &*it;
  }
  Status not_number(const char* key, const json& v) const {
    return data_loss("{}: {} must be a number, got {}", path_, key, v.dump());
  }
  Status out_of_range(const char* key, const char* range, const std::string& value) const {
    return data_loss(
        "{}: {} must be {}, got {} (fix or remove the field, or start with "
        "--generation-config vllm)",
        path_, key, range, value);
  }

  const json& config_;
  std::string path_;
};

}  // namespace

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
  json config = json::parse(text.str(), nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return data_loss("{} is not a JSON object", path.string());
  }
  const FieldReader read(config, path);
  KVTIER_RETURN_IF_ERROR(read.real(
      "temperature", [](double x) { return x >= 0; }, ">= 0", defaults.temperature));
  KVTIER_RETURN_IF_ERROR(read.real(
      "top_p", [](double x) { return x > 0 && x <= 1; }, "in (0, 1]", defaults.top_p));
  KVTIER_RETURN_IF_ERROR(
      read.integer("top_k", -1, "-1 (disable), 0 or a positive integer", defaults.top_k));
  KVTIER_RETURN_IF_ERROR(read.real(
      "min_p", [](double x) { return x >= 0 && x <= 1; }, "in [0, 1]", defaults.min_p));
  KVTIER_RETURN_IF_ERROR(read.real(
      "repetition_penalty", [](double x) { return x > 0; }, "in (0, inf)",
      defaults.repetition_penalty));
  KVTIER_RETURN_IF_ERROR(
      read.integer("max_new_tokens", 1, "a positive integer", defaults.max_tokens));
  KVTIER_RETURN_IF_ERROR(read.token_ids("eos_token_id", defaults.eos_token_ids));
  return defaults;
}

Status check_model_token_ids(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(model_dir / "config.json", ec)) return Status::ok();
  KVTIER_ASSIGN_OR_RETURN(const model::ModelConfig config, model::load_config(model_dir));
  KVTIER_ASSIGN_OR_RETURN(const SamplingDefaults defaults, read_generation_config(model_dir));
  for (int32_t id : defaults.eos_token_ids)
    if (id >= config.vocab_size)
      return invalid_argument("{}: eos_token_id {} is outside the vocabulary (vocab_size {} in {})",
                              (model_dir / "generation_config.json").string(), id,
                              config.vocab_size, (model_dir / "config.json").string());
  return Status::ok();
}

}  // namespace kvtier::server
