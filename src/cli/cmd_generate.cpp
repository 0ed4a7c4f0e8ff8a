// kvtier generate: offline generation on the model runner; prints text, or with --json one
// object per prompt (prompt_ids, output_ids, output_text, finish_reason and, with --logprobs K,
// the top-K log-probabilities of each generated token).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <new>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "cli/tokenizer_choice.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/offline.h"
#include "model/checkpoint.h"
#include "model/model_runner.h"
#include "model/offline_generator.h"
#include "server/api_request.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Expected<std::vector<int32_t>> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && std::isspace(static_cast<unsigned char>(item[used]))) ++used;
    if (used == 0 || used != item.size() || v < 0 || v > INT32_MAX)
      return invalid_argument("--prompt-ids '{}': '{}' is not a token id", text, item);
    ids.push_back(int32_t(v));
  }
  if (ids.empty()) return invalid_argument("--prompt-ids '{}' holds no token id", text);
  return ids;
}

// eos ids from config.json and generation_config.json (which may list several).
std::vector<int32_t> stop_ids(const model::ModelConfig& config, const fs::path& model_dir,
                              const tokenizer::Tokenizer* tok) {
  std::vector<int32_t> ids;
  auto add = [&](int64_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(int32_t(id));
  };
  add(config.eos_token_id);
  std::ifstream in(model_dir / "generation_config.json");
  json gen = in ? json::parse(in, nullptr, false) : json();
  if (gen.is_object() && gen.contains("eos_token_id")) {
    const json& e = gen["eos_token_id"];
    if (e.is_number_integer()) add(e.get<int64_t>());
    if (e.is_array())
      for (const auto& v : e)
        if (v.is_number_integer()) add(v.get<int64_t>());
  }
  if (tok && tok->eos_token_id()) add(*tok->eos_token_id());
  return ids;
}

// Keys in the documented order (prompt_ids, output_ids, output_text, ...).
nlohmann::ordered_json to_json(const model::GenerateOutput& out, const tokenizer::Tokenizer* tok,
                               bool want_logprobs) {
  using ojson = nlohmann::ordered_json;
  ojson j = {{"prompt_ids", out.prompt_ids},
             {"output_ids", out.output_ids},
             {"output_text", tok ? ojson(tok->decode(out.output_ids)) : ojson(nullptr)},
             {"finish_reason", out.finish_reason}};
  if (want_logprobs) {
    auto steps = ojson::array();
    for (const auto& lp : out.logprobs)
      steps.push_back({{"ids", lp.ids}, {"logprobs", lp.logprobs}});
    j["logprobs"] = std::move(steps);
  }
  return j;
}

// --prompts-file: every prompt goes through the engine at once (continuous batching, prefix
// caching); one JSON line per prompt, in input order.
template <typename Args, typename Fail>
int run_prompts_file(const Args& a, Fail fail) {
  engine::EngineConfig config;
  config.model_dir = a.model;
  config.tokenizer_dir = tokenizer_dir(a, /*fall_back=*/true);
  config.device = a.device;
  config.seed = a.seed;
  config.num_threads = a.threads;
  config.max_num_batched_tokens = a.max_num_batched_tokens;
  auto parts = engine::Engine::load_parts(config);
  if (!parts) return fail(parts.error());
  const auto tokenizer = parts->tokenizer;
  auto engine = engine::Engine::create(config, std::move(*parts));
  if (!engine) return fail(engine.error());
  (*engine)->start();
  engine::SamplingParams defaults;
  defaults.max_tokens = a.max_tokens;
  defaults.temperature = float(a.temperature);
  defaults.ignore_eos = a.ignore_eos;
  if (a.logprobs > 0) defaults.logprobs = a.logprobs;
  auto prompts = engine::read_prompts_file(a.prompts_file, tokenizer.get(), defaults);
  if (!prompts) return fail(prompts.error());
  int rc = 0;
  for (const auto& result : engine::generate(**engine, std::move(*prompts))) {
    if (!result.error.is_ok()) rc = 1;
    fmt::print("{}\n", engine::result_to_json(result, a.logprobs > 0)
                           .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  }
  return rc;
}

// --prompt / --prompt-ids: the model runner directly, one batch.
template <typename Args, typename Fail>
int run_prompts(const Args& args, Fail fail) {
  const Args* a = &args;
  if (a->prompts.empty() && a->prompt_ids.empty())
    return fail(invalid_argument("give at least one --prompt, --prompt-ids or --prompts-file"));
  if (a->logprobs < 0)
    return fail(invalid_argument("--logprobs must be >= 0, got {}", a->logprobs));
  if (a->temperature < 0)
    return fail(invalid_argument("--temperature must be >= 0, got {}", a->temperature));
  const fs::path model_dir = a->model;

  std::shared_ptr<const tokenizer::Tokenizer> tok;
  const fs::path tok_dir = tokenizer_dir(*a, /*fall_back=*/true);
  if (!tok_dir.empty()) {
    auto loaded = tokenizer::Tokenizer::load(tok_dir);
    if (!loaded && (!a->tokenizer.empty() || !a->prompts.empty())) return fail(loaded.error());
    if (loaded) tok = *loaded;
  }
  if (!tok && !a->prompts.empty())
    return fail(not_found("--prompt needs a tokenizer: none in {} (give --tokenizer DIR)",
                          model_dir.string()));

  std::vector<std::vector<int32_t>> prompts;
  for (const auto& text : a->prompts) {
    auto ids = tok->encode(text);
    if (!ids) return fail(ids.error());
    prompts.push_back(std::move(*ids));
  }
  for (const auto& text : a->prompt_ids) {
    auto ids = parse_ids(text);
    if (!ids) return fail(ids.error());
    prompts.push_back(std::move(*ids));
  }

  auto config = model::load_config(model_dir);
  if (!config) return fail(config.error());
  model::RunnerOptions options;
  options.model_dir = model_dir;
  options.device = a->device;
  options.num_threads = a->threads;
  options.max_num_batched_tokens = a->max_num_batched_tokens;
  // Exactly the blocks these prompts can use: each gets its own from the start.
  int64_t blocks = 0;
  for (const auto& p : prompts)
    blocks += (int64_t(p.size()) + std::max(a->max_tokens, 0) + options.block_size - 1) /
              options.block_size;
  options.num_gpu_blocks = int32_t(std::min<int64_t>(std::max<int64_t>(blocks, 1), INT32_MAX));
  auto runner = model::create_model_runner(options);
  if (!runner) return fail(runner.error());

  model::GenerateParams params;
  params.max_tokens = a->max_tokens;
  params.temperature = a->temperature;
  params.seed = a->seed;
  params.logprobs = a->logprobs;
  params.max_num_batched_tokens = a->max_num_batched_tokens;
  if (!a->ignore_eos) params.stop_token_ids = stop_ids(*config, model_dir, tok.get());
  auto outputs = model::generate(**runner, prompts, params);
  if (!outputs) return fail(outputs.error());
  for (const auto& out : *outputs) {
    if (a->json_out) {
      const auto j = to_json(out, tok.get(), a->logprobs > 0);
      fmt::print("{}\n",
                 j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    } else if (tok) {
      fmt::print("{}\n", tok->decode(out.output_ids));
    } else {
      fmt::print("{}\n", fmt::join(out.output_ids, ","));
    }
  }
  return 0;
}

std::function<int()> setup(CLI::App& app) {
  struct Args : TokenizerFlags {
    std::vector<std::string> prompts;
    std::vector<std::string> prompt_ids;
    int32_t max_tokens = 16;
    double temperature = 0.0;
    int32_t logprobs = 0;
    bool json_out = false;
    uint64_t seed = 0;
    bool ignore_eos = false;
    std::string device = "cpu";
    int threads = 0;
    int32_t max_num_batched_tokens = 2048;
    std::string prompts_file;
  };
  auto a = std::make_shared<Args>();
  add_tokenizer_flags(app, *a, "Model folder (Hugging Face layout)");
  app.get_option("--model")->required();
  app.add_option("--prompt", a->prompts, "Prompt text (repeatable)");
  app.add_option("--prompts-file", a->prompts_file,
                 "JSON lines, each {\"prompt\": TEXT} or {\"prompt_ids\": [...]} with optional "
                 "sampling fields; run together through the engine, printed in input order");
  app.add_option("--prompt-ids", a->prompt_ids, "Prompt as comma-separated token ids (repeatable)");
  app.add_option("--max-tokens", a->max_tokens, "Tokens to generate per prompt")
      ->capture_default_str();
  app.add_option("--temperature", a->temperature, "0 for greedy")->capture_default_str();
  app.add_option("--logprobs", a->logprobs, "Report the top-K log-probabilities of each token");
  app.add_flag("--json", a->json_out, "One JSON object per prompt");
  app.add_option("--seed", a->seed, "Seed for temperature sampling")->capture_default_str();
  app.add_flag("--ignore-eos", a->ignore_eos, "Keep generating after an end-of-sequence token");
  app.add_option("--device", a->device, "cpu or cuda")->capture_default_str();
  app.add_option("--threads", a->threads, "CPU threads (0: all cores)");
  app.add_option("--max-num-batched-tokens", a->max_num_batched_tokens,
                 "Tokens per forward step (prefill chunk budget)")
      ->capture_default_str();
  return [a]() -> int {
    auto fail = [](const Status& s) {
      fmt::print(stderr, "error: {}\n", s.message());
      return s.code() == ErrorCode::kInvalidArgument || s.code() == ErrorCode::kOutOfRange ? 2 : 1;
    };
    // Sizes read from the model folder are checked before anything is allocated from them; an
    // allocation that still fails is reported against the inputs that sized it.
    // A FIFO in the model or tokenizer folder would block a reader forever: refuse it first.
    for (const fs::path& dir : {fs::path(a->model), tokenizer_dir(*a, /*fall_back=*/true)}) {
      if (dir.empty()) continue;
      if (Status s = model::check_model_folder_files(dir); !s.is_ok()) return fail(s);
    }
    if (Status s = server::check_model_token_ids(a->model); !s.is_ok()) return fail(s);
    try {
      return a->prompts_file.empty() ? run_prompts(*a, fail) : run_prompts_file(*a, fail);
    } catch (const std::bad_alloc&) {
      return fail(make_error(ErrorCode::kResourceExhausted,
                             "out of memory loading the model in {} or running its prompts "
                             "(config.json sizes, weights, --max-tokens {} or "
                             "--max-num-batched-tokens {} too large for this machine?)",
                             a->model, a->max_tokens, a->max_num_batched_tokens));
    }
  };
}

KVTIER_COMMAND("generate", "Generate tokens for prompts offline (greedy or sampled)", setup);

}  // namespace
}  // namespace kvtier::cli
