// kvtier detokenize: token ids (JSON lines on stdin) to text (JSON lines on stdout).
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "cli/command.h"
#include "common/paths.h"
#include "tokenizer/jsonl_commands.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::cli {
namespace {

std::function<int()> setup(CLI::App& app) {
  struct Args {
    std::string model;
    std::string tokenizer;
    bool skip_special_tokens = false;
  };
  auto args = std::make_shared<Args>();
  app.add_option("--model", args->model, "Model folder holding tokenizer.json");
  app.add_option("--tokenizer", args->tokenizer, "Tokenizer folder, when not the model's (default: the Qwen3 tokenizer)");
  app.add_flag("--skip-special-tokens", args->skip_special_tokens, "Leave special tokens out of the text");
  app.footer(
      "Reads {\"ids\": [...]} per line and writes {\"text\": \"...\"}. A bad line gets {\"error\": ...}; the exit "
      "status is 1 when any line was bad.");
  return [args]() -> int {
    const std::filesystem::path dir = !args->tokenizer.empty() ? std::filesystem::path(args->tokenizer)
                                      : !args->model.empty()   ? std::filesystem::path(args->model)
                                                               : default_tokenizer_dir();
    auto tokenizer = tokenizer::Tokenizer::load(dir);
    if (!tokenizer) return fmt::print(stderr, "error: {}\n", tokenizer.error().message()), 2;
    std::ios::sync_with_stdio(false);
    return tokenizer::detokenize_lines(**tokenizer, args->skip_special_tokens, std::cin, std::cout, std::cerr) == 0 ? 0 : 1;
  };
}

KVTIER_COMMAND("detokenize", "Turn token ids given as JSON lines back into text", setup);

}  // namespace
}  // namespace kvtier::cli
