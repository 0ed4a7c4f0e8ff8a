#include "engine/offline.h"

#include <condition_variable>
#include <fstream>
#include <mutex>

namespace kvtier::engine {

std::vector<OfflineResult> generate(Engine& engine, std::vector<OfflinePrompt> prompts) {
  std::vector<OfflineResult> results(prompts.size());
  std::mutex mu;
  std::condition_variable done_cv;
  size_t pending = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    results[i].prompt_ids = prompts[i].prompt_ids;
    GenerationRequest request;
    request.request_id = "offline-" + std::to_string(i);
    request.prompt_ids = std::move(prompts[i].prompt_ids);
    request.sampling = std::move(prompts[i].sampling);
    request.cache_salt = std::move(prompts[i].cache_salt);
    // Runs on the engine thread; `results[i]` is touched by no one else until `pending` drops.
    request.sink = [&, i](RequestOutput&& out) {
      OfflineResult& r = results[i];
      r.output_ids.insert(r.output_ids.end(), out.token_ids.begin(), out.token_ids.end());
      r.output_text += out.text;
      r.logprobs.insert(r.logprobs.end(), std::make_move_iterator(out.logprobs.begin()),
                        std::make_move_iterator(out.logprobs.end()));
      if (!out.finish_reason) return;
      r.finish_reason = out.finish_reason;
      r.stop_reason = out.stop_reason;
      r.cached_tokens = out.cached_tokens;
      r.error = out.error;
      std::lock_guard lock(mu);
      --pending;
      done_cv.notify_all();
    };
    {
      std::lock_guard lock(mu);
      ++pending;
    }
    if (Status s = engine.submit(std::move(request)); !s) {
      results[i].error = s;
      std::lock_guard lock(mu);
      --pending;
    }
  }
  if (engine.running()) {
    std::unique_lock lock(mu);
    done_cv.wait(lock, [&] { return pending == 0; });
  } else {
    engine.run_until_idle();
  }
  return results;
}

namespace {

template <typename... Args>
Status line_error(const std::string& source, size_t line, fmt::format_string<Args...> f,
                  Args&&... args) {
  return invalid_argument("{}:{}: {}", source, line, fmt::format(f, std::forward<Args>(args)...));
}

// Reads one optional field into `out`, with an error naming the field and the bad value.
template <typename T>
Status read_field(const nlohmann::json& j, const char* key, T& out, const std::string& source,
                  size_t line) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::ok();
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean())
      return line_error(source, line, "field '{}' must be true or false, got {}", key, it->dump());
  } else if constexpr (std::is_integral_v<T>) {
    if (!it->is_number_integer())
      return line_error(source, line, "field '{}' must be an integer, got {}", key, it->dump());
  } else {
    if (!it->is_number())
      return line_error(source, line, "field '{}' must be a number, got {}", key, it->dump());
  }
  out = it->get<T>();
  return Status::ok();
}

Status read_int_list(const nlohmann::json& v, const char* key, std::vector<int32_t>& out,
                     const std::string& source, size_t line) {
  if (!v.is_array()) return line_error(source, line, "field '{}' must be a list of token ids", key);
  out.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number_integer()) {
      return line_error(source, line, "field '{}'[{}] must be an integer token id, got {}", key, i,
                        v[i].dump());
    }
    out.push_back(v[i].get<int32_t>());
  }
  return Status::ok();
}

const char* const kKnownFields[] = {"prompt",
                                    "prompt_ids",
                                    "cache_salt",
                                    "max_tokens",
                                    "min_tokens",
                                    "temperature",
                                    "top_p",
                                    "top_k",
                                    "min_p",
                                    "seed",
                                    "presence_penalty",
                                    "frequency_penalty",
                                    "repetition_penalty",
                                    "ignore_eos",
                                    "stop",
                                    "stop_token_ids",
                                    "include_stop_str_in_output",
                                    "logprobs",
                                    "skip_special_tokens"};

Expected<OfflinePrompt> parse_line(const nlohmann::json& j, const std::string& source, size_t line,
                                   const tokenizer::Tokenizer* tokenizer,
                                   const SamplingParams& defaults) {
  if (!j.is_object())
    return line_error(source, line, "expected a JSON object, got {}", j.type_name());
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKnownFields), std::end(kKnownFields), key) ==
        std::end(kKnownFields)) {
      return line_error(source, line, "unknown field '{}'", key);
    }
  }
  OfflinePrompt p;
  p.sampling = defaults;
  const bool has_text = j.contains("prompt"), has_ids = j.contains("prompt_ids");
  if (has_text == has_ids) {
    return line_error(source, line, "give exactly one of 'prompt' (text) and 'prompt_ids'");
  }
  if (has_ids) {
    KVTIER_RETURN_IF_ERROR(
        read_int_list(j["prompt_ids"], "prompt_ids", p.prompt_ids, source, line));
  } else {
    if (!j["prompt"].is_string())
      return line_error(source, line, "field 'prompt' must be a string");
    if (!tokenizer)
      return line_error(source, line, "field 'prompt' is text but there is no tokenizer");
    auto ids = tokenizer->encode(j["prompt"].get<std::string>());
    if (!ids) return line_error(source, line, "field 'prompt': {}", ids.error().message());
    p.prompt_ids = std::move(ids).value();
  }
  SamplingParams& s = p.sampling;
  KVTIER_RETURN_IF_ERROR(read_field(j, "max_tokens", s.max_tokens, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "min_tokens", s.min_tokens, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "temperature", s.temperature, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "top_p", s.top_p, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "top_k", s.top_k, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "min_p", s.min_p, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "presence_penalty", s.presence_penalty, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "frequency_penalty", s.frequency_penalty, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "repetition_penalty", s.repetition_penalty, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "ignore_eos", s.ignore_eos, source, line));
  KVTIER_RETURN_IF_ERROR(
      read_field(j, "include_stop_str_in_output", s.include_stop_str_in_output, source, line));
  KVTIER_RETURN_IF_ERROR(read_field(j, "skip_special_tokens", s.skip_special_tokens, source, line));
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer())
      return line_error(source, line, "field 'seed' must be an integer, got {}", j["seed"].dump());
    s.seed = j["seed"].get<uint64_t>();
  }
  if (j.contains("logprobs") && !j["logprobs"].is_null()) {
    int32_t n = 0;
    KVTIER_RETURN_IF_ERROR(read_field(j, "logprobs", n, source, line));
    s.logprobs = n;
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    const auto& stop = j["stop"];
    s.stop.clear();
    if (stop.is_string()) {
      s.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array()) {
      for (size_t i = 0; i < stop.size(); ++i) {
        if (!stop[i].is_string())
          return line_error(source, line, "field 'stop'[{}] must be a string, got {}", i,
                            stop[i].dump());
        s.stop.push_back(stop[i].get<std::string>());
      }
    } else {
      return line_error(source, line, "field 'stop' must be a string or a list of strings");
    }
  }
  if (j.contains("stop_token_ids") && !j["stop_token_ids"].is_null()) {
    KVTIER_RETURN_IF_ERROR(
        read_int_list(j["stop_token_ids"], "stop_token_ids", s.stop_token_ids, source, line));
  }
  if (j.contains("cache_salt") && !j["cache_salt"].is_null()) {
    if (!j["cache_salt"].is_string())
      return line_error(source, line, "field 'cache_salt' must be a string");
    p.cache_salt = j["cache_salt"].get<std::string>();
  }
  return p;
}

}  // namespace

Expected<std::vector<OfflinePrompt>> parse_prompts(std::istream& in, const std::string& source,
                                                   const tokenizer::Tokenizer* tokenizer,
                                                   const SamplingParams& defaults) {
  std::vector<OfflinePrompt> prompts;
  std::string text;
  size_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return line_error(source, line, "not valid JSON");
    KVTIER_ASSIGN_OR_RETURN(OfflinePrompt p, parse_line(j, source, line, tokenizer, defaults));
    prompts.push_back(std::move(p));
  }
  return prompts;
}

Expected<std::vector<OfflinePrompt>> read_prompts_file(const std::filesystem::path& path,
                                                       const tokenizer::Tokenizer* tokenizer,
                                                       const SamplingParams& defaults) {
  std::ifstream in(path);
  if (!in) return not_found("cannot read prompts file {}", path.string());
  return parse_prompts(in, path.string(), tokenizer, defaults);
}

nlohmann::ordered_json result_to_json(const OfflineResult& r, bool with_logprobs) {
  using ojson = nlohmann::ordered_json;
  ojson j = {{"prompt_ids", r.prompt_ids},
             {"output_ids", r.output_ids},
             {"output_text", r.output_text},
             {"finish_reason",
              r.finish_reason ? ojson(finish_reason_name(*r.finish_reason)) : ojson(nullptr)},
             {"stop_reason", r.stop_reason ? ojson(*r.stop_reason) : ojson(nullptr)},
             {"cached_tokens", r.cached_tokens}};
  if (with_logprobs) {
    ojson steps = ojson::array();
    for (const auto& lp : r.logprobs) {
      ojson ids = ojson::array(), values = ojson::array();
      for (const auto& [id, v] : lp.top) {
        ids.push_back(id);
        values.push_back(v);
      }
      steps.push_back(
          {{"token_id", lp.token_id}, {"logprob", lp.logprob}, {"ids", ids}, {"logprobs", values}});
    }
    j["logprobs"] = std::move(steps);
  }
  if (!r.error.is_ok()) j["error"] = r.error.to_string();
  return j;
}

}  // namespace kvtier::engine
