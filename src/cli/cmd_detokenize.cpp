// kvtier detokenize: token ids (JSON lines on stdin) to text (JSON lines on stdout).
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/tokenizer_choice.h"
#include "tokenizer/jsonl_commands.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::cli {
namespace {

std::function<int()> setup(CLI::App& app) {
  struct Args : TokenizerFlags {
    bool skip_special_tokens = false;
  };
  auto args = std::make_shared<Args>();
  add_tokenizer_flags(app, *args, "Model folder holding tokenizer.json");
  app.add_flag("--skip-special-tokens", args->skip_special_tokens, "Leave special tokens out of the text");
  app.footer(
      "Reads {\"ids\": [...]} per line and writes {\"text\": \"...\"}. A bad line gets {\"error\": ...}; the exit "
      "status is 1 when any line was bad.");
  return [args]() -> int {
    auto tokenizer = tokenizer::Tokenizer::load(tokenizer_dir(*args, /*fall_back=*/false));
    if (!tokenizer) return fmt::print(stderr, "error: {}\n", tokenizer.error().message()), 2;
    std::ios::sync_with_stdio(false);
    return tokenizer::detokenize_lines(**tokenizer, args->skip_special_tokens, std::cin, std::cout, std::cerr) == 0 ? 0 : 1;
  };
}

KVTIER_COMMAND("detokenize", "Turn token ids given as JSON lines back into text", setup);

}  // namespace
}  // namespace kvtier::cli
