#pragma once
// Helpers shared by the model tests: a scratch folder and small random Qwen3 checkpoints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "model/checkpoint_writer.h"
#include "model/config.h"

namespace kvtier::model::testing {

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kvtier_model_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A small Qwen3 shape: GQA (4 query heads on 2 KV heads), head_dim != hidden / heads.
inline ModelConfig small_config(bool tied = true, DType dtype = DType::kF32) {
  ModelConfig c;
  c.vocab_size = 300;
  c.hidden_size = 48;
  c.intermediate_size = 80;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 2048;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = tied;
  c.torch_dtype = dtype;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  return c;
}

inline void write_small_checkpoint(const std::filesystem::path& dir, const ModelConfig& config,
                                   uint64_t seed = 7, uint64_t max_shard_bytes = 5'000'000'000ull) {
  CheckpointWriteOptions options;
  options.out_dir = dir;
  options.seed = seed;
  options.max_shard_bytes = max_shard_bytes;
  options.num_threads = 2;
  Status s = write_random_checkpoint(config, options);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
}

}  // namespace kvtier::model::testing
