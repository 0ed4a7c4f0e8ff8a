// kvtier make-model: writes a Qwen3-architecture checkpoint with seeded random weights in the
// Hugging Face folder layout.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <regex>

#include "cli/command.h"
#include "common/paths.h"
#include "model/checkpoint_writer.h"
#include "model/presets.h"

namespace kvtier::cli {
namespace {

// "5GB", "100KB", "2MiB" or a byte count, as save_pretrained's max_shard_size.
Expected<uint64_t> parse_size(const std::string& text) {
  static const std::regex kSize(R"(\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(text, m, kSize))
    return invalid_argument("--max-shard-size '{}': expected a size such as 5GB or 100KB", text);
  double value = std::stod(m[1].str());
  const std::string unit = m[2].str();
  const double base = m[3].length() ? 1024.0 : 1000.0;
  const std::string units = "KMGT";
  if (!unit.empty()) {
    const auto power = units.find(char(std::toupper(unit[0])));
    for (size_t i = 0; i <= power; ++i) value *= base;
  }
  if (value < 1) return invalid_argument("--max-shard-size '{}' must be at least 1 byte", text);
  return uint64_t(value);
}

std::function<int()> setup(CLI::App& app) {
  struct Args {
    std::string preset = "tiny";
    std::string out;
    uint64_t seed = 0;
    std::string dtype = "bf16";
    std::string max_shard_size = "5GB";
    std::string tokenizer;
    bool no_tokenizer = false;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  app.add_option("--preset", args->preset, "tiny, qwen3-0.6b, qwen3-8b or qwen3-14b")
      ->capture_default_str();
  app.add_option("--out", args->out, "Folder to write the checkpoint into")->required();
  app.add_option("--seed", args->seed, "Seed of the random weights")->capture_default_str();
  app.add_option("--dtype", args->dtype, "Weight dtype: bf16, fp16 or fp32")->capture_default_str();
  app.add_option("--max-shard-size", args->max_shard_size,
                 "Split weights into shards of at most this size (e.g. 5GB, 100KB)")
      ->capture_default_str();
  app.add_option("--tokenizer", args->tokenizer,
                 "Folder whose tokenizer.json and tokenizer_config.json are copied (default: the "
                 "Qwen3 tokenizer in third_party_data)");
  app.add_flag("--no-tokenizer", args->no_tokenizer, "Do not copy tokenizer files");
  app.add_option("--threads", args->threads, "Threads generating weights (0: all cores)");
  return [args]() -> int {
    auto config = model::preset_config(args->preset);
    if (!config) return fmt::print(stderr, "error: {}\n", config.error().message()), 2;
    auto dtype = model::parse_dtype(args->dtype);
    if (!dtype) return fmt::print(stderr, "error: --dtype: {}\n", dtype.error().message()), 2;
    config->torch_dtype = *dtype;
    auto shard = parse_size(args->max_shard_size);
    if (!shard) return fmt::print(stderr, "error: {}\n", shard.error().message()), 2;
    model::CheckpointWriteOptions options;
    options.out_dir = args->out;
    options.seed = args->seed;
    options.max_shard_bytes = *shard;
    options.num_threads = args->threads;
    if (!args->no_tokenizer)
      options.tokenizer_dir = args->tokenizer.empty() ? default_tokenizer_dir()
                                                      : std::filesystem::path(args->tokenizer);
    const auto start = std::chrono::steady_clock::now();
    if (Status s = model::write_random_checkpoint(*config, options); !s) {
      fmt::print(stderr, "error: {}\n", s.message());
      return 1;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "wrote {} ({}, {}, seed {}) to {} in {:.1f} s\n", args->preset,
               model::dtype_name(config->torch_dtype),
               config->tie_word_embeddings ? "tied embeddings" : "untied", args->seed, args->out,
               secs);
    return 0;
  };
}

KVTIER_COMMAND("make-model", "Write a Qwen3 checkpoint with seeded random weights", setup);

}  // namespace
}  // namespace kvtier::cli
