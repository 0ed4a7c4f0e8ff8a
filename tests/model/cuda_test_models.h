#pragma once
// Shared by the CUDA model tests: small random Qwen3 checkpoints (written once per process into
// a temp folder), runners for both backends, and sequences with their own block tables so the
// same batch can be fed to the CPU and the CUDA runner.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "model/cuda/cuda_model_runner.h"
#include "model/model_runner.h"
#include "model/model_test_util.h"
#include "model/presets.h"

namespace kvtier::model::cuda::testing {

using ::kvtier::model::testing::TempDir;

// "tiny" is the project's default model (head_dim 64, 2 query heads per kv head); "d128" has
// Qwen3's real head_dim and the 8B's 4 query heads per kv head.
inline ModelConfig test_config(const std::string& name) {
  if (name == "tiny") return *preset_config("tiny");
  ModelConfig c = ::kvtier::model::testing::small_config(/*tied=*/false, DType::kBF16);
  c.vocab_size = 4096;
  c.hidden_size = 256;
  c.intermediate_size = 512;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 2;
  c.head_dim = 128;
  c.max_position_embeddings = 4096;
  c.rope_theta = 1e6;
  return c;
}

// The checkpoint folder for `name`, written on first use in this process.
inline std::filesystem::path test_model_dir(const std::string& name) {
  static std::map<std::string, std::unique_ptr<TempDir>> dirs;
  auto& dir = dirs[name];
  if (!dir) {
    dir = std::make_unique<TempDir>();
    ::kvtier::model::testing::write_small_checkpoint(dir->path(), test_config(name), 11);
  }
  return dir->path();
}

// The source tree, overridable so tests find their fixtures when the binaries run elsewhere.
inline std::filesystem::path source_dir() {
  if (const char* s = std::getenv("KVTIER_SOURCE_DIR")) return s;
  return KVTIER_SOURCE_DIR;
}

inline RunnerOptions runner_options(const std::filesystem::path& dir, const std::string& device,
                                    int32_t blocks = 512) {
  RunnerOptions o;
  o.model_dir = dir;
  o.device = device;
  o.num_gpu_blocks = blocks;
  o.max_num_batched_tokens = 2048;
  o.max_num_seqs = 64;
  return o;
}

inline std::unique_ptr<CudaModelRunner> make_cuda_runner(const RunnerOptions& o,
                                                         CudaModelRunner::Tuning tuning = {}) {
  auto r = CudaModelRunner::create(o, tuning);
  EXPECT_TRUE(r.has_value()) << r.status().to_string();
  return r ? std::move(*r) : nullptr;
}

inline std::unique_ptr<ModelRunner> make_cpu_runner(const RunnerOptions& o) {
  RunnerOptions cpu = o;
  cpu.device = "cpu";
  auto r = create_model_runner(cpu);
  EXPECT_TRUE(r.has_value()) << r.status().to_string();
  return r ? std::move(*r) : nullptr;
}

// A sequence: its tokens so far and its blocks (taken from a shared counter, block_size 16).
struct Seq {
  std::vector<int32_t> tokens;
  std::vector<int32_t> blocks;
  int32_t computed = 0;  // tokens whose KV is in the cache
};

class SeqBuilder {
 public:
  explicit SeqBuilder(int32_t block_size = 16, int32_t first_block = 0)
      : block_size_(block_size), next_(first_block) {}
  Seq make(const std::vector<int32_t>& prompt, int32_t max_len) {
    Seq s;
    s.tokens = prompt;
    for (int32_t i = 0; i < (max_len + block_size_ - 1) / block_size_; ++i)
      s.blocks.push_back(next_++);
    return s;
  }
  int32_t blocks_used() const { return next_; }

 private:
  int32_t block_size_, next_;
};

// The chunk computing tokens [computed, computed + n) of `s`.
inline SeqChunk chunk(const Seq& s, int32_t n, bool want_logits = true) {
  SeqChunk c;
  c.tokens = std::span<const int32_t>(s.tokens).subspan(s.computed, n);
  c.start_pos = s.computed;
  c.block_table = s.blocks;
  c.want_logits = want_logits;
  return c;
}

inline std::vector<int32_t> random_prompt(int32_t n, int32_t vocab, uint32_t seed) {
  std::vector<int32_t> p(n);
  uint64_t x = seed * 2654435761u + 1;
  for (auto& t : p) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    t = int32_t((x >> 33) % uint64_t(vocab));
  }
  return p;
}

inline int32_t argmax(std::span<const float> row) {
  return int32_t(std::max_element(row.begin(), row.end()) - row.begin());
}

// top-1 minus top-2 of a row.
inline float margin(std::span<const float> row) {
  float a = -1e30f, b = -1e30f;
  for (float v : row) {
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) {
      b = v;
    }
  }
  return a - b;
}

struct Diff {
  double max_abs = 0, rel_rms = 0, ref_max = 0;
};

inline Diff compare_rows(std::span<const float> got, std::span<const float> want) {
  Diff d;
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = double(got[i]) - want[i];
    d.max_abs = std::max(d.max_abs, std::fabs(e));
    d.ref_max = std::max(d.ref_max, std::fabs(double(want[i])));
    num += e * e;
    den += double(want[i]) * want[i];
  }
  d.rel_rms = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return d;
}

class CudaModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kernels::cuda::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  }
};

}  // namespace kvtier::model::cuda::testing
