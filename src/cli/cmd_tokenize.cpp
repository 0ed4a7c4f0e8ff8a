// kvtier tokenize: text or chat messages (JSON lines on stdin) to token ids (JSON lines on stdout).
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
  auto args = std::make_shared<TokenizerFlags>();
  add_tokenizer_flags(app, *args, "Model folder holding tokenizer.json and tokenizer_config.json");
  app.footer(
      "Reads one JSON object per line: {\"text\": \"...\"} or {\"messages\": [...], "
      "\"add_generation_prompt\": true, \"enable_thinking\": false, \"tools\": [...]}. Writes {\"ids\": [...]} "
      "(and \"text\", the rendered chat template, for messages). A bad line gets {\"error\": ...}; the exit "
      "status is 1 when any line was bad.");
  return [args]() -> int {
    auto tokenizer = tokenizer::Tokenizer::load(tokenizer_dir(*args, /*fall_back=*/false));
    if (!tokenizer) return fmt::print(stderr, "error: {}\n", tokenizer.error().message()), 2;
    std::ios::sync_with_stdio(false);
    return tokenizer::tokenize_lines(**tokenizer, std::cin, std::cout, std::cerr) == 0 ? 0 : 1;
  };
}

KVTIER_COMMAND("tokenize", "Tokenize text or chat messages given as JSON lines", setup);

}  // namespace
}  // namespace kvtier::cli
