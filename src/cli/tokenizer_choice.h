#pragma once
// Which tokenizer folder a subcommand uses: --tokenizer, else the model's, else the bundled Qwen3
// tokenizer. Shared by tokenize, detokenize and generate so they agree.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

namespace kvtier::cli {

struct TokenizerFlags {
  std::string model;
  std::string tokenizer;
};

// Adds --model and --tokenizer (the model flag's help text differs per command).
void add_tokenizer_flags(CLI::App& app, TokenizerFlags& flags, const std::string& model_help);

// --tokenizer when given; else the model folder when it holds tokenizer.json, or when
// `fall_back` is false and a model was named (so loading reports the missing file); else the
// bundled tokenizer. Empty when nothing is found and `fall_back` is true.
std::filesystem::path tokenizer_dir(const TokenizerFlags& flags, bool fall_back);

}  // namespace kvtier::cli
