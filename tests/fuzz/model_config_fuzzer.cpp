// config.json (a model's shape) through the same steps load_config takes after reading the file.
// Invariants of an accepted config: every size positive, heads divisible by KV heads, head_dim
// even, token ids inside the vocabulary (the KV cache and weights are sized from these).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvtier::model;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto config = parse_config(j, "fuzz/config.json");
  if (!config) {
    FUZZ_CHECK(!config.error().message().empty(), "an error names what is wrong");
    return 0;
  }
  const ModelConfig& c = *config;
  FUZZ_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.intermediate_size > 0, "sizes positive");
  FUZZ_CHECK(c.num_hidden_layers > 0 && c.num_attention_heads > 0 && c.num_key_value_heads > 0,
             "counts positive");
  FUZZ_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0, "head_dim positive and even");
  FUZZ_CHECK(c.num_attention_heads % c.num_key_value_heads == 0, "heads divisible by KV heads");
  FUZZ_CHECK(c.max_position_embeddings > 0 && c.rope_theta > 0 && c.rms_norm_eps > 0,
             "positions, rope and eps positive");
  FUZZ_CHECK(c.eos_token_id < c.vocab_size && c.bos_token_id < c.vocab_size, "ids in vocabulary");
  return 0;
}
