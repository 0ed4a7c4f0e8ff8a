#pragma once
// Where kvtier finds its data: the Qwen3 tokenizer fetched by `make setup`, and the embedded
// default model that `make demo` and the tests generate.
#include <filesystem>

namespace kvtier {

// The source tree's root, compiled in, overridable with $KVTIER_HOME.
std::filesystem::path project_root();
// third_party_data/qwen3-tokenizer (tokenizer.json, tokenizer_config.json).
std::filesystem::path default_tokenizer_dir();

}  // namespace kvtier
