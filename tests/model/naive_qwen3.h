#pragma once
// A deliberately plain Qwen3 forward pass in float64 over a whole sequence, written from the
// Hugging Face modeling code's definition (no paging, no batching, no BLAS), as the oracle the
// CPU runner's wiring is checked against.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/dtype_convert.h"

namespace kvtier::model::testing {

class NaiveQwen3 {
 public:
  explicit NaiveQwen3(const std::filesystem::path& dir) {
    auto c = load_config(dir);
    EXPECT_TRUE(c) << c.error().to_string();
    config_ = *c;
    auto ckpt = Checkpoint::open(dir);
    EXPECT_TRUE(ckpt) << ckpt.error().to_string();
    for (const auto& [name, t] : ckpt->tensors()) {
      std::vector<float> f(size_t(t.numel()));
      convert_to_float(t.dtype(), t.data, t.numel(), f.data());
      weights_[name] = std::vector<double>(f.begin(), f.end());
    }
  }

  const ModelConfig& config() const { return config_; }

  // Logits after the last token of `tokens`.
  std::vector<double> last_logits(const std::vector<int32_t>& tokens) const {
    const auto& c = config_;
    const int T = int(tokens.size()), H = c.hidden_size, D = c.head_dim;
    const int NH = c.num_attention_heads, NKV = c.num_key_value_heads, I = c.intermediate_size;
    std::vector<std::vector<double>> x(T);
    for (int t = 0; t < T; ++t) x[t] = row(w("model.embed_tokens.weight"), tokens[t], H);
    for (int l = 0; l < c.num_hidden_layers; ++l) {
      auto lw = [&](const std::string& s) -> const std::vector<double>& {
        return w("model.layers." + std::to_string(l) + "." + s);
      };
      std::vector<std::vector<double>> q(T), k(T), v(T);
      for (int t = 0; t < T; ++t) {
        auto h = rmsnorm(x[t], lw("input_layernorm.weight"));
        q[t] = matvec(lw("self_attn.q_proj.weight"), h, NH * D);
        k[t] = matvec(lw("self_attn.k_proj.weight"), h, NKV * D);
        v[t] = matvec(lw("self_attn.v_proj.weight"), h, NKV * D);
        for (int hd = 0; hd < NH; ++hd) head_norm_rope(q[t], hd, lw("self_attn.q_norm.weight"), t);
        for (int hd = 0; hd < NKV; ++hd) head_norm_rope(k[t], hd, lw("self_attn.k_norm.weight"), t);
      }
      for (int t = 0; t < T; ++t) {
        std::vector<double> attn(NH * D, 0.0);
        for (int hd = 0; hd < NH; ++hd) {
          const int kvh = hd / (NH / NKV);
          std::vector<double> s(t + 1);
          double mx = -1e300;
          for (int j = 0; j <= t; ++j) {
            double dot = 0;
            for (int e = 0; e < D; ++e) dot += q[t][hd * D + e] * k[j][kvh * D + e];
            s[j] = dot / std::sqrt(double(D));
            mx = std::max(mx, s[j]);
          }
          double sum = 0;
          for (auto& e : s) sum += (e = std::exp(e - mx));
          for (int j = 0; j <= t; ++j)
            for (int e = 0; e < D; ++e) attn[hd * D + e] += s[j] / sum * v[j][kvh * D + e];
        }
        auto o = matvec(lw("self_attn.o_proj.weight"), attn, H);
        for (int e = 0; e < H; ++e) x[t][e] += o[e];
        auto h = rmsnorm(x[t], lw("post_attention_layernorm.weight"));
        auto g = matvec(lw("mlp.gate_proj.weight"), h, I);
        auto u = matvec(lw("mlp.up_proj.weight"), h, I);
        for (int e = 0; e < I; ++e) g[e] = g[e] / (1 + std::exp(-g[e])) * u[e];
        auto d = matvec(lw("mlp.down_proj.weight"), g, H);
        for (int e = 0; e < H; ++e) x[t][e] += d[e];
      }
    }
    auto h = rmsnorm(x[T - 1], w("model.norm.weight"));
    const auto& head = c.tie_word_embeddings ? w("model.embed_tokens.weight") : w("lm_head.weight");
    return matvec(head, h, c.vocab_size);
  }

 private:
  const std::vector<double>& w(const std::string& name) const {
    auto it = weights_.find(name);
    if (it == weights_.end()) {
      ADD_FAILURE() << "no tensor " << name;
      static const std::vector<double> empty;
      return empty;
    }
    return it->second;
  }
  static std::vector<double> row(const std::vector<double>& m, int r, int cols) {
    return std::vector<double>(m.begin() + size_t(r) * cols, m.begin() + size_t(r + 1) * cols);
  }
  static std::vector<double> matvec(const std::vector<double>& m, const std::vector<double>& x,
                                    int rows) {
    const size_t cols = x.size();
    std::vector<double> y(rows, 0.0);
    for (int r = 0; r < rows; ++r)
      for (size_t c = 0; c < cols; ++c) y[r] += m[r * cols + c] * x[c];
    return y;
  }
  std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& g) const {
    double ss = 0;
    for (double e : x) ss += e * e;
    const double inv = 1.0 / std::sqrt(ss / double(x.size()) + config_.rms_norm_eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * g[i];
    return y;
  }
  // Per-head RMSNorm then rotate-half RoPE at position `pos`, in place.
  void head_norm_rope(std::vector<double>& v, int head, const std::vector<double>& g,
                      int pos) const {
    const int D = config_.head_dim;
    std::vector<double> h(v.begin() + head * D, v.begin() + (head + 1) * D);
    h = rmsnorm(h, g);
    for (int i = 0; i < D / 2; ++i) {
      const double ang = pos * std::pow(config_.rope_theta, -2.0 * i / D);
      v[head * D + i] = h[i] * std::cos(ang) - h[i + D / 2] * std::sin(ang);
      v[head * D + i + D / 2] = h[i + D / 2] * std::cos(ang) + h[i] * std::sin(ang);
    }
  }

  ModelConfig config_;
  std::map<std::string, std::vector<double>> weights_;
};

}  // namespace kvtier::model::testing
