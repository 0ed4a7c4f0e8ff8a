#include "model/config.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/mapped_file.h"

namespace kvtier::model {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kF32:
      return "float32";
    case DType::kF16:
      return "float16";
    case DType::kBF16:
      return "bfloat16";
  }
  return "unknown";
}

int dtype_size(DType t) { return t == DType::kF32 ? 4 : 2; }

Expected<DType> parse_dtype(std::string_view name) {
  if (name == "bfloat16" || name == "bf16") return DType::kBF16;
  if (name == "float16" || name == "fp16" || name == "half") return DType::kF16;
  if (name == "float32" || name == "fp32" || name == "float") return DType::kF32;
  return invalid_argument("unknown dtype '{}' (expected bfloat16, float16 or float32)", name);
}

namespace {

using nlohmann::json;

// Upper bounds on the sizes config.json gives. The tensor list, the KV cache and the weights are
// all sized from these numbers, so a hostile or corrupt file must be refused before anything is
// allocated from them. Each bound is several times the largest published dense model's
// (Llama-3.1-405B: 126 layers, hidden 16384, intermediate 53248, 128 heads; Gemma: vocab 262144).
constexpr int64_t kMaxVocab = int64_t(1) << 22;
constexpr int64_t kMaxHidden = int64_t(1) << 17;
constexpr int64_t kMaxIntermediate = int64_t(1) << 19;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxHeadDim = 8192;
constexpr int64_t kMaxPositions = int64_t(1) << 26;
// heads x head_dim is the width of the q projection.
constexpr int64_t kMaxProjection = int64_t(1) << 19;

// Reads an integer field in [1, max]; absent fields keep `out` unless required.
Status read_int(const json& j, const char* key, const std::string& source, bool required,
                int64_t max, int32_t& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return invalid_argument("{}: missing field '{}'", source, key);
    return Status::ok();
  }
  if (!it->is_number_integer())
    return invalid_argument("{}: field '{}' must be an integer, got {}", source, key, it->dump());
  int64_t v = it->get<int64_t>();
  if (v <= 0)
    return invalid_argument("{}: field '{}' must be a positive integer, got {}", source, key, v);
  if (v > max)
    return invalid_argument("{}: field '{}' is {}, larger than the {} a model may have", source,
                            key, v, max);
  out = int32_t(v);
  return Status::ok();
}

Status read_double(const json& j, const char* key, const std::string& source, double& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::ok();
  if (!it->is_number())
    return invalid_argument("{}: field '{}' must be a number, got {}", source, key, it->dump());
  out = it->get<double>();
  if (!(out > 0))
    return invalid_argument("{}: field '{}' must be positive, got {}", source, key, out);
  return Status::ok();
}

// eos_token_id may be one id or a list of ids (the first is kept). Every id must lie inside
// the vocabulary: an id the model can never produce would silently disable the stop.
Status read_token_id(const json& j, const char* key, const std::string& source,
                     int32_t vocab_size, int32_t& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::ok();
  const json list = it->is_array() ? *it : json::array({*it});
  for (const json& v : list) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
      return invalid_argument("{}: field '{}' must be a token id, got {}", source, key,
                              it->dump());
    if (v.get<int64_t>() >= vocab_size)
      return invalid_argument("{}: field '{}' holds token id {}, outside the vocabulary "
                              "(vocab_size {})",
                              source, key, v.get<int64_t>(), vocab_size);
  }
  if (!list.empty()) out = int32_t(list.front().get<int64_t>());
  return Status::ok();
}

Status read_architecture(const json& j, const std::string& source, ModelConfig& c) {
  auto it = j.find("architectures");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_array() || it->empty() || !it->front().is_string())
      return invalid_argument("{}: field 'architectures' must be a list of names, got {}", source,
                              it->dump());
    c.architecture = it->front().get<std::string>();
  } else if (auto mt = j.find("model_type"); mt != j.end() && mt->is_string()) {
    c.architecture =
        mt->get<std::string>() == "qwen3" ? "Qwen3ForCausalLM" : mt->get<std::string>();
  } else {
    return invalid_argument("{}: missing field 'architectures'", source);
  }
  if (c.architecture != "Qwen3ForCausalLM")
    return make_error(ErrorCode::kUnimplemented,
                      "{}: architecture '{}' is not supported (supported: Qwen3ForCausalLM)",
                      source, c.architecture);
  return Status::ok();
}

// Rope: transformers 4 writes rope_theta and rope_scaling; transformers 5 rope_parameters.
Status read_rope(const json& j, const std::string& source, ModelConfig& c) {
  KVTIER_RETURN_IF_ERROR(read_double(j, "rope_theta", source, c.rope_theta));
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object())
      return invalid_argument("{}: field '{}' must be an object, got {}", source, key, it->dump());
    std::string type = "default";
    for (const char* type_key : {"rope_type", "type"}) {
      if (auto t = it->find(type_key); t != it->end() && t->is_string())
        type = t->get<std::string>();
    }
    if (type != "default")
      return make_error(ErrorCode::kUnimplemented, "{}: {} type '{}' is not supported", source, key,
                        type);
    KVTIER_RETURN_IF_ERROR(read_double(*it, "rope_theta", source + ": " + key, c.rope_theta));
  }
  return Status::ok();
}

Status read_dtype(const json& j, const std::string& source, ModelConfig& c) {
  for (const char* key : {"dtype", "torch_dtype"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_string())
      return invalid_argument("{}: field '{}' must be a string, got {}", source, key, it->dump());
    auto d = parse_dtype(it->get<std::string>());
    if (!d) return invalid_argument("{}: field '{}': {}", source, key, d.error().message());
    c.torch_dtype = *d;
    return Status::ok();
  }
  return Status::ok();
}

Status check_unsupported(const json& j, const std::string& source) {
  if (auto it = j.find("attention_bias"); it != j.end() && it->is_boolean() && it->get<bool>())
    return make_error(ErrorCode::kUnimplemented, "{}: attention_bias true is not supported",
                      source);
  if (auto it = j.find("use_sliding_window"); it != j.end() && it->is_boolean() && it->get<bool>())
    return make_error(ErrorCode::kUnimplemented, "{}: use_sliding_window true is not supported",
                      source);
  if (auto it = j.find("hidden_act"); it != j.end() && !it->is_null() && *it != "silu")
    return make_error(ErrorCode::kUnimplemented, "{}: hidden_act {} is not supported (only silu)",
                      source, it->dump());
  return Status::ok();
}

}  // namespace

Expected<ModelConfig> parse_config(const json& j, const std::string& source) {
  if (!j.is_object()) return invalid_argument("{}: expected a JSON object", source);
  ModelConfig c;
  KVTIER_RETURN_IF_ERROR(read_architecture(j, source, c));
  KVTIER_RETURN_IF_ERROR(check_unsupported(j, source));
  KVTIER_RETURN_IF_ERROR(read_int(j, "vocab_size", source, true, kMaxVocab, c.vocab_size));
  KVTIER_RETURN_IF_ERROR(read_int(j, "hidden_size", source, true, kMaxHidden, c.hidden_size));
  KVTIER_RETURN_IF_ERROR(
      read_int(j, "intermediate_size", source, true, kMaxIntermediate, c.intermediate_size));
  KVTIER_RETURN_IF_ERROR(
      read_int(j, "num_hidden_layers", source, true, kMaxLayers, c.num_hidden_layers));
  KVTIER_RETURN_IF_ERROR(
      read_int(j, "num_attention_heads", source, true, kMaxHeads, c.num_attention_heads));
  c.num_key_value_heads = c.num_attention_heads;
  KVTIER_RETURN_IF_ERROR(read_int(j, "num_key_value_heads", source, false, kMaxHeads,
                                  c.num_key_value_heads));
  c.head_dim = 0;
  KVTIER_RETURN_IF_ERROR(read_int(j, "head_dim", source, false, kMaxHeadDim, c.head_dim));
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_attention_heads != 0)
      return invalid_argument(
          "{}: hidden_size {} is not a multiple of num_attention_heads {} and "
          "no head_dim is given",
          source, c.hidden_size, c.num_attention_heads);
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (int64_t(c.num_attention_heads) * c.head_dim > kMaxProjection)
    return invalid_argument(
        "{}: field 'num_attention_heads' {} x 'head_dim' {} is larger than the {} a model may have",
        source, c.num_attention_heads, c.head_dim, kMaxProjection);
  if (c.head_dim % 2 != 0)
    return invalid_argument("{}: head_dim {} must be even for rotary embeddings", source,
                            c.head_dim);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    return invalid_argument(
        "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", source,
        c.num_attention_heads, c.num_key_value_heads);
  KVTIER_RETURN_IF_ERROR(
      read_int(j, "max_position_embeddings", source, false, kMaxPositions,
               c.max_position_embeddings));
  KVTIER_RETURN_IF_ERROR(read_rope(j, source, c));
  KVTIER_RETURN_IF_ERROR(read_double(j, "rms_norm_eps", source, c.rms_norm_eps));
  if (auto it = j.find("tie_word_embeddings"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      return invalid_argument("{}: field 'tie_word_embeddings' must be true or false, got {}",
                              source, it->dump());
    c.tie_word_embeddings = it->get<bool>();
  }
  KVTIER_RETURN_IF_ERROR(read_dtype(j, source, c));
  KVTIER_RETURN_IF_ERROR(read_token_id(j, "bos_token_id", source, c.vocab_size, c.bos_token_id));
  KVTIER_RETURN_IF_ERROR(read_token_id(j, "eos_token_id", source, c.vocab_size, c.eos_token_id));
  return c;
}

Expected<ModelConfig> load_config(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  if (Status s = require_regular_file(path); !s.is_ok() && s.code() != ErrorCode::kNotFound)
    return s;
  std::ifstream in(path);
  if (!in)
    return not_found("{}: cannot open (is {} a model folder?)", path.string(), model_dir.string());
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("{}: not valid JSON", path.string());
  return parse_config(j, path.string());
}

}  // namespace kvtier::model
