#include "cli/tokenizer_choice.h"

#include "common/paths.h"

namespace kvtier::cli {

namespace fs = std::filesystem;

void add_tokenizer_flags(CLI::App& app, TokenizerFlags& flags, const std::string& model_help) {
  app.add_option("--model", flags.model, model_help);
  app.add_option("--tokenizer", flags.tokenizer,
                 "Tokenizer folder, when not the model's (default: the model folder, else the "
                 "bundled Qwen3 tokenizer)");
}

fs::path tokenizer_dir(const TokenizerFlags& flags, bool fall_back) {
  if (!flags.tokenizer.empty()) return flags.tokenizer;
  std::error_code ec;
  if (!flags.model.empty()) {
    const fs::path model(flags.model);
    if (!fall_back || fs::exists(model / "tokenizer.json", ec)) return model;
  }
  if (!fall_back || fs::exists(default_tokenizer_dir() / "tokenizer.json", ec)) {
    return default_tokenizer_dir();
  }
  return {};
}

}  // namespace kvtier::cli
