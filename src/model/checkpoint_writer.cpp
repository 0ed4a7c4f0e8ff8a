#include "model/checkpoint_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "kernels/thread_pool.h"
#include "model/dtype_convert.h"
#include "model/qwen3_tensors.h"
#include "model/random_init.h"
#include "model/safetensors_writer.h"

namespace kvtier::model {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Elements generated and written per step: bounded memory whatever the tensor's size.
constexpr int64_t kChunkElems = 1 << 22;
constexpr int64_t kSliceElems = 1 << 16;

json number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return int64_t(v);
  return v;
}

Status write_json(const fs::path& path, const json& j) {
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(2) << "\n";
  out.close();
  if (!out) return make_error(ErrorCode::kUnavailable, "{}: write failed", path.string());
  return Status::ok();
}

// Files an earlier checkpoint in the folder may have left; stale shards would shadow new weights.
void remove_old_weights(const fs::path& dir) {
  static const std::regex kShard(R"(model-\d+-of-\d+\.safetensors)");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "model.safetensors" || name == "model.safetensors.index.json" ||
        std::regex_match(name, kShard))
      fs::remove(entry.path(), ec);
  }
}

Status write_tensor(SafetensorsWriter& writer, const TensorDecl& decl, const ModelConfig& config,
                    uint64_t seed, kernels::ThreadPool& pool) {
  const InitSpec spec = init_spec(decl.name, config);
  const int64_t numel = int64_t(decl.nbytes() / size_t(dtype_size(decl.dtype)));
  const int elem = dtype_size(decl.dtype);
  std::vector<float> values(size_t(std::min(numel, kChunkElems)));
  std::vector<std::byte> bytes(values.size() * size_t(elem));
  for (int64_t first = 0; first < numel; first += kChunkElems) {
    const int64_t count = std::min(kChunkElems, numel - first);
    pool.parallel_for((count + kSliceElems - 1) / kSliceElems, [&](int64_t b, int64_t e, int) {
      for (int64_t s = b; s < e; ++s) {
        const int64_t off = s * kSliceElems, n = std::min(kSliceElems, count - off);
        fill_random(seed, decl.name, spec, first + off, n, values.data() + off);
        convert_from_float(decl.dtype, values.data() + off, n, bytes.data() + off * elem);
      }
    });
    KVTIER_RETURN_IF_ERROR(writer.write({bytes.data(), size_t(count) * size_t(elem)}));
  }
  return Status::ok();
}

}  // namespace

json hf_config_json(const ModelConfig& c) {
  return json{
      {"architectures", {c.architecture}},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"bos_token_id", c.bos_token_id},
      {"eos_token_id", c.eos_token_id},
      {"head_dim", c.head_dim},
      {"hidden_act", "silu"},
      {"hidden_size", c.hidden_size},
      {"initializer_range", 0.02},
      {"intermediate_size", c.intermediate_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"max_window_layers", c.num_hidden_layers},
      {"model_type", "qwen3"},
      {"num_attention_heads", c.num_attention_heads},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_key_value_heads", c.num_key_value_heads},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_scaling", nullptr},
      {"rope_theta", number(c.rope_theta)},
      {"sliding_window", nullptr},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"torch_dtype", dtype_name(c.torch_dtype)},
      {"transformers_version", "4.51.0"},
      {"use_cache", true},
      {"use_sliding_window", false},
      {"vocab_size", c.vocab_size},
  };
}

json hf_generation_config_json(const ModelConfig& c) {
  json eos = json::array({c.eos_token_id});
  if (c.bos_token_id >= 0 && c.bos_token_id != c.eos_token_id) eos.push_back(c.bos_token_id);
  return json{
      {"bos_token_id", c.bos_token_id},
      {"do_sample", true},
      {"eos_token_id", eos},
      {"pad_token_id", c.bos_token_id},
      {"temperature", 0.6},
      {"top_k", 20},
      {"top_p", 0.95},
      {"transformers_version", "4.51.0"},
  };
}

Status write_random_checkpoint(const ModelConfig& config, const CheckpointWriteOptions& options) {
  const fs::path& dir = options.out_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    return invalid_argument("--out {}: cannot create a folder there{}", dir.string(),
                            ec ? ": " + ec.message() : "");
  remove_old_weights(dir);
  KVTIER_RETURN_IF_ERROR(write_json(dir / "config.json", hf_config_json(config)));
  KVTIER_RETURN_IF_ERROR(
      write_json(dir / "generation_config.json", hf_generation_config_json(config)));

  // Shards in module order, each closed before it would pass max_shard_bytes.
  std::vector<std::vector<TensorDecl>> shards(1);
  uint64_t shard_bytes = 0, total_bytes = 0, total_params = 0;
  for (const auto& spec : qwen3_tensor_specs(config)) {
    TensorDecl decl{spec.name, config.torch_dtype, spec.shape};
    if (!shards.back().empty() && shard_bytes + decl.nbytes() > options.max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shard_bytes += decl.nbytes();
    total_bytes += decl.nbytes();
    total_params += decl.nbytes() / size_t(dtype_size(decl.dtype));
    shards.back().push_back(std::move(decl));
  }
  kernels::ThreadPool pool(options.num_threads);
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file_name =
        shards.size() == 1
            ? "model.safetensors"
            : fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    KVTIER_ASSIGN_OR_RETURN(auto writer, SafetensorsWriter::create(dir / file_name, shards[i]));
    for (const auto& decl : shards[i]) {
      KVTIER_RETURN_IF_ERROR(write_tensor(writer, decl, config, options.seed, pool));
      weight_map[decl.name] = file_name;
    }
    KVTIER_RETURN_IF_ERROR(writer.finish());
  }
  if (shards.size() > 1) {
    json index = {{"metadata", {{"total_parameters", total_params}, {"total_size", total_bytes}}},
                  {"weight_map", weight_map}};
    KVTIER_RETURN_IF_ERROR(write_json(dir / "model.safetensors.index.json", index));
  }
  if (!options.tokenizer_dir.empty()) {
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
      const fs::path src = options.tokenizer_dir / name;
      if (!fs::exists(src, ec)) continue;
      fs::copy_file(src, dir / name, fs::copy_options::overwrite_existing, ec);
      if (ec)
        return make_error(ErrorCode::kUnavailable, "copying {} to {}: {}", src.string(),
                          dir.string(), ec.message());
    }
  }
  return Status::ok();
}

}  // namespace kvtier::model
