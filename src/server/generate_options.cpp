#include <cmath>
#include <limits>

#include "server/api_request.h"
#include "server/json_fields.h"

namespace kvtier::server {
namespace {

using json = nlohmann::ordered_json;

Status parse_stop(const json& body, engine::SamplingParams& sampling) {
  auto it = body.find("stop");
  if (it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      sampling.stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (size_t i = 0; i < it->size(); ++i) {
        const json& s = (*it)[i];
        if (!s.is_string()) {
          return invalid_argument("stop[{}] must be a string, got {}", i, json_type_phrase(s));
        }
        sampling.stop.push_back(s.get<std::string>());
      }
    } else {
      return invalid_argument("stop must be a string or a list of strings, got {}",
                              json_type_phrase(*it));
    }
    for (const auto& s : sampling.stop) {
      if (s.empty()) return invalid_argument("stop cannot contain an empty string.");
    }
  }
  it = body.find("stop_token_ids");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_array()) {
      return invalid_argument("stop_token_ids must be a list of integers, got {}",
                              json_type_phrase(*it));
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const json& id = (*it)[i];
      if (!id.is_number_integer()) {
        return invalid_argument("stop_token_ids[{}] must be an integer, got {}", i,
                                json_type_phrase(id));
      }
      int64_t v = id.get<int64_t>();
      if (v < 0 || v > std::numeric_limits<int32_t>::max()) {
        return invalid_argument("stop_token_ids[{}] is not a token id: {}", i, v);
      }
      sampling.stop_token_ids.push_back(int32_t(v));
    }
  }
  return Status::ok();
}

// vLLM's allowed_token_ids (absent or null: every id; an empty list is an error there too) and
// bad_words (words, tokenized once the tokenizer is at hand). Ids are checked against the
// vocabulary later, where it is known.
Status parse_token_restrictions(const json& body, GenerateOptions& options) {
  auto it = body.find("allowed_token_ids");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_array()) {
      return invalid_argument("allowed_token_ids must be a list of integers, got {}",
                              json_type_phrase(*it));
    }
    if (it->empty()) {
      return invalid_argument(
          "allowed_token_ids is empty: leave it out (or null) to allow every token");
    }
    std::vector<int32_t>& ids = options.sampling.allowed_token_ids;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& id = (*it)[i];
      if (!id.is_number_integer()) {
        return invalid_argument("allowed_token_ids[{}] must be an integer, got {}", i,
                                json_type_phrase(id));
      }
      const bool fits = id.is_number_unsigned()
                            ? id.get<uint64_t>() <= uint64_t(std::numeric_limits<int32_t>::max())
                            : id.get<int64_t>() >= std::numeric_limits<int32_t>::min();
      if (!fits) return invalid_argument("allowed_token_ids[{}] is not a token id: {}", i, id.dump());
      ids.push_back(int32_t(id.get<int64_t>()));
    }
  }
  it = body.find("bad_words");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_array()) {
      return invalid_argument("bad_words must be a list of strings, got {}", json_type_phrase(*it));
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const json& word = (*it)[i];
      if (!word.is_string()) {
        return invalid_argument("bad_words[{}] must be a string, got {}", i,
                                json_type_phrase(word));
      }
      options.bad_words.push_back(word.get<std::string>());
    }
  }
  return Status::ok();
}

Status parse_stream_options(const json& body, GenerateOptions& options) {
  KVTIER_ASSIGN_OR_RETURN(auto stream, read_bool(body, "stream"));
  options.stream = stream.value_or(false);
  auto it = body.find("stream_options");
  if (it == body.end() || it->is_null()) return Status::ok();
  if (!it->is_object()) {
    return invalid_argument("stream_options must be an object, got {}", json_type_phrase(*it));
  }
  if (!options.stream) {
    return invalid_argument("Stream options can only be defined when `stream=True`.");
  }
  // vLLM's StreamOptions defaults include_usage to true once stream_options is given.
  KVTIER_ASSIGN_OR_RETURN(auto include_usage, read_bool(*it, "include_usage"));
  KVTIER_ASSIGN_OR_RETURN(auto continuous, read_bool(*it, "continuous_usage_stats"));
  options.stream_options.include_usage = include_usage.value_or(true);
  options.stream_options.continuous_usage_stats =
      options.stream_options.include_usage && continuous.value_or(false);
  return Status::ok();
}

}  // namespace

Status parse_generate_options(const json& body, const SamplingDefaults& defaults,
                              GenerateOptions& options) {
  engine::SamplingParams& s = options.sampling;
  if (defaults.temperature) s.temperature = *defaults.temperature;
  if (defaults.top_p) s.top_p = *defaults.top_p;
  if (defaults.top_k) s.top_k = *defaults.top_k;
  if (defaults.min_p) s.min_p = *defaults.min_p;
  if (defaults.repetition_penalty) s.repetition_penalty = *defaults.repetition_penalty;
  options.max_tokens_cap = defaults.max_tokens;
  KVTIER_ASSIGN_OR_RETURN(options.model, read_string(body, "model"));

  KVTIER_ASSIGN_OR_RETURN(auto n, read_integer(body, "n"));
  if (n && *n < 1) return invalid_argument("n must be at least 1, got {}.", *n);
  if (n && *n > 1) {
    return make_error(ErrorCode::kUnimplemented,
                      "n > 1 is not supported (got n={}): send one request per sample", *n);
  }
  KVTIER_ASSIGN_OR_RETURN(auto best_of, read_integer(body, "best_of"));
  if (best_of && *best_of > 1) {
    return make_error(ErrorCode::kUnimplemented, "best_of > 1 is not supported (got {})",
                      *best_of);
  }
  KVTIER_ASSIGN_OR_RETURN(auto beam, read_bool(body, "use_beam_search"));
  if (beam.value_or(false)) {
    return make_error(ErrorCode::kUnimplemented, "use_beam_search is not supported");
  }
  auto bias = body.find("logit_bias");
  if (bias != body.end() && !bias->is_null() && !(bias->is_object() && bias->empty())) {
    return make_error(ErrorCode::kUnimplemented, "logit_bias is not supported");
  }
  auto format = body.find("response_format");
  if (format != body.end() && !format->is_null()) {
    if (!format->is_object()) {
      return invalid_argument("response_format must be an object, got {}",
                              json_type_phrase(*format));
    }
    auto type = format->find("type");
    if (type == format->end() || !type->is_string() || type->get<std::string>() != "text") {
      return make_error(ErrorCode::kUnimplemented,
                        "response_format {} is not supported: only {{\"type\": \"text\"}}",
                        format->dump());
    }
  }
  auto prompt_logprobs = body.find("prompt_logprobs");
  if (prompt_logprobs != body.end() && !prompt_logprobs->is_null()) {
    return make_error(ErrorCode::kUnimplemented, "prompt_logprobs is not supported");
  }

  KVTIER_ASSIGN_OR_RETURN(auto truncate, read_integer(body, "truncate_prompt_tokens"));
  if (truncate && *truncate != -1 && *truncate < 1) {
    return invalid_argument(
        "truncate_prompt_tokens must be -1 (max_model_len) or at least 1, got {}.", *truncate);
  }
  options.truncate_prompt_tokens = truncate;
  KVTIER_ASSIGN_OR_RETURN(auto priority, read_integer(body, "priority"));
  options.priority = priority.value_or(0);

  KVTIER_ASSIGN_OR_RETURN(auto temperature, read_number(body, "temperature"));
  if (temperature) {
    if (!(*temperature >= 0.0) || !std::isfinite(*temperature)) {
      return invalid_argument("temperature must be non-negative, got {}.", *temperature);
    }
    s.temperature = float(*temperature);
  }
  KVTIER_ASSIGN_OR_RETURN(auto top_p, read_number(body, "top_p"));
  if (top_p) {
    if (!(*top_p > 0.0 && *top_p <= 1.0)) {
      return invalid_argument("top_p must be in (0, 1], got {}.", *top_p);
    }
    s.top_p = float(*top_p);
  }
  KVTIER_ASSIGN_OR_RETURN(auto top_k, read_integer(body, "top_k"));
  if (top_k) {
    if (*top_k < -1 || *top_k > std::numeric_limits<int32_t>::max()) {
      return invalid_argument("top_k must be 0 (disable), or at least 1, got {}.", *top_k);
    }
    s.top_k = *top_k < 0 ? 0 : int32_t(*top_k);
  }
  KVTIER_ASSIGN_OR_RETURN(auto min_p, read_number(body, "min_p"));
  if (min_p) {
    if (!(*min_p >= 0.0 && *min_p <= 1.0)) {
      return invalid_argument("min_p must be in [0, 1], got {}.", *min_p);
    }
    s.min_p = float(*min_p);
  }
  KVTIER_ASSIGN_OR_RETURN(auto presence, read_number(body, "presence_penalty"));
  if (presence) {
    if (!(*presence >= -2.0 && *presence <= 2.0)) {
      return invalid_argument("presence_penalty must be in [-2, 2], got {}.", *presence);
    }
    s.presence_penalty = float(*presence);
  }
  KVTIER_ASSIGN_OR_RETURN(auto frequency, read_number(body, "frequency_penalty"));
  if (frequency) {
    if (!(*frequency >= -2.0 && *frequency <= 2.0)) {
      return invalid_argument("frequency_penalty must be in [-2, 2], got {}.", *frequency);
    }
    s.frequency_penalty = float(*frequency);
  }
  KVTIER_ASSIGN_OR_RETURN(auto repetition, read_number(body, "repetition_penalty"));
  if (repetition) {
    if (!(*repetition > 0.0 && *repetition <= 2.0)) {
      return invalid_argument("repetition_penalty must be in (0, 2], got {}.", *repetition);
    }
    s.repetition_penalty = float(*repetition);
  }
  KVTIER_ASSIGN_OR_RETURN(auto seed, read_integer(body, "seed"));
  if (seed) s.seed = uint64_t(*seed);

  KVTIER_ASSIGN_OR_RETURN(auto min_tokens, read_integer(body, "min_tokens"));
  if (min_tokens) {
    if (*min_tokens < 0 || *min_tokens > std::numeric_limits<int32_t>::max()) {
      return invalid_argument("min_tokens must be greater than or equal to 0, got {}.",
                              *min_tokens);
    }
    s.min_tokens = int32_t(*min_tokens);
  }
  KVTIER_ASSIGN_OR_RETURN(auto ignore_eos, read_bool(body, "ignore_eos"));
  s.ignore_eos = ignore_eos.value_or(false);
  KVTIER_ASSIGN_OR_RETURN(auto skip_special, read_bool(body, "skip_special_tokens"));
  s.skip_special_tokens = skip_special.value_or(true);
  KVTIER_ASSIGN_OR_RETURN(auto include_stop, read_bool(body, "include_stop_str_in_output"));
  s.include_stop_str_in_output = include_stop.value_or(false);
  KVTIER_RETURN_IF_ERROR(parse_stop(body, s));
  KVTIER_RETURN_IF_ERROR(parse_token_restrictions(body, options));

  auto salt = body.find("cache_salt");
  if (salt != body.end() && !salt->is_null()) {
    if (!salt->is_string() || salt->get<std::string>().empty()) {
      return invalid_argument("Parameter 'cache_salt' must be a non-empty string if provided.");
    }
    options.cache_salt = salt->get<std::string>();
  }
  KVTIER_ASSIGN_OR_RETURN(auto return_token_ids, read_bool(body, "return_token_ids"));
  options.return_token_ids = return_token_ids.value_or(false);
  KVTIER_ASSIGN_OR_RETURN(auto user, read_string(body, "user"));
  (void)user;  // accepted and ignored, as vLLM does
  return parse_stream_options(body, options);
}

Status fit_to_context(GenerateOptions& options, int64_t prompt_tokens, int64_t max_model_len,
                      std::optional<int64_t> default_max_tokens) {
  if (prompt_tokens >= max_model_len) {
    return invalid_argument(
        "This model's maximum context length is {} tokens. However, your request has {} input "
        "tokens. Please reduce the length of the input messages.",
        max_model_len, prompt_tokens);
  }
  int64_t room = max_model_len - prompt_tokens;
  int64_t max_tokens = room;
  if (options.max_tokens) {
    max_tokens = *options.max_tokens;
    if (max_tokens < 1) {
      return invalid_argument("max_tokens must be at least 1, got {}.", max_tokens);
    }
    if (max_tokens > room) {
      return invalid_argument(
          "This model's maximum context length is {} tokens. However, you requested {} tokens "
          "({} in the messages, {} in the completion). Please reduce the length of the messages "
          "or completion.",
          max_model_len, uint64_t(prompt_tokens) + uint64_t(max_tokens), prompt_tokens,
          max_tokens);  // both >= 0; their int64 sum could overflow
    }
  } else if (default_max_tokens) {
    max_tokens = std::min(*default_max_tokens, room);
  }
  if (options.max_tokens_cap && *options.max_tokens_cap > 0) {
    max_tokens = std::min(max_tokens, *options.max_tokens_cap);
  }
  options.sampling.max_tokens = int32_t(max_tokens);
  if (options.sampling.min_tokens > options.sampling.max_tokens) {
    return invalid_argument("min_tokens must be less than or equal to max_tokens={}, got {}.",
                            options.sampling.max_tokens, options.sampling.min_tokens);
  }
  return Status::ok();
}

Status check_token_ids(const std::vector<int32_t>& ids, int32_t vocab_size, const char* field) {
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size) {
      return invalid_argument("{}: token id {} is out of vocabulary (vocab_size {})", field, id,
                              vocab_size);
    }
  }
  return Status::ok();
}

Expected<bool> truncate_prompt(const GenerateOptions& options, int64_t max_model_len,
                               std::vector<int32_t>& prompt_ids) {
  if (!options.truncate_prompt_tokens) return false;
  const int64_t keep =
      *options.truncate_prompt_tokens == -1 ? max_model_len : *options.truncate_prompt_tokens;
  if (keep > max_model_len) {
    return invalid_argument(
        "truncate_prompt_tokens value ({}) is greater than max_model_len ({}). Please, select a "
        "smaller truncation size.",
        keep, max_model_len);
  }
  if (int64_t(prompt_ids.size()) <= keep) return false;
  prompt_ids.erase(prompt_ids.begin(), prompt_ids.end() - keep);
  return true;
}

}  // namespace kvtier::server
