#include "server/logprobs_format.h"

#include <cmath>

namespace kvtier::server {

using nlohmann::ordered_json;

int64_t utf8_length(std::string_view text) {
  int64_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

double clamp_logprob(float logprob) {
  if (std::isnan(logprob)) return -9999.0;
  return std::max(double(logprob), -9999.0);
}

std::string logprob_token_text(const TextCodec* codec, int32_t id) {
  if (!codec || id < 0 || id >= codec->vocab_size()) return "token_id:" + std::to_string(id);
  return codec->token_text(id);
}

namespace {

ordered_json byte_list(std::string_view bytes) {
  ordered_json list = ordered_json::array();
  for (unsigned char c : bytes) list.push_back(int(c));
  return list;
}

std::string raw_bytes(const TextCodec* codec, int32_t id) {
  if (!codec || id < 0 || id >= codec->vocab_size()) return "token_id:" + std::to_string(id);
  return codec->token_bytes(id);
}

}  // namespace

void CompletionLogprobs::append(const std::vector<int32_t>& ids,
                                const std::vector<engine::TokenLogprob>& logprobs,
                                int64_t text_offset) {
  next_offset_ = text_offset;
  append_continuing(ids, logprobs);
}

void CompletionLogprobs::append_continuing(const std::vector<int32_t>& ids,
                                           const std::vector<engine::TokenLogprob>& logprobs) {
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string token = logprob_token_text(codec_, ids[i]);
    text_offset_.push_back(next_offset_);
    next_offset_ += utf8_length(token);
    if (i >= logprobs.size()) {
      token_logprobs_.push_back(std::nan(""));
      top_logprobs_.push_back(nullptr);
      tokens_.push_back(std::move(token));
      continue;
    }
    const engine::TokenLogprob& lp = logprobs[i];
    token_logprobs_.push_back(clamp_logprob(lp.logprob));
    // The sampled token first, then the most likely ones: num_top + 1 entries at most, as the
    // OpenAI completions API defines top_logprobs (a repeated string keeps its first place).
    ordered_json top = ordered_json::object();
    top[token] = clamp_logprob(lp.logprob);
    for (const auto& [id, value] : lp.top) {
      if (int32_t(top.size()) > num_top_) break;
      top[logprob_token_text(codec_, id)] = clamp_logprob(value);
    }
    top_logprobs_.push_back(std::move(top));
    tokens_.push_back(std::move(token));
  }
}

ordered_json CompletionLogprobs::to_json() const {
  ordered_json out;
  out["text_offset"] = text_offset_;
  ordered_json token_logprobs = ordered_json::array();
  for (double v : token_logprobs_) {
    token_logprobs.push_back(std::isnan(v) ? ordered_json() : ordered_json(v));
  }
  out["token_logprobs"] = std::move(token_logprobs);
  out["tokens"] = tokens_;
  out["top_logprobs"] = top_logprobs_;
  return out;
}

void CompletionLogprobs::clear() {
  text_offset_.clear();
  token_logprobs_.clear();
  tokens_.clear();
  top_logprobs_.clear();
}

ordered_json chat_logprobs_content(const TextCodec* codec, const std::vector<int32_t>& ids,
                                   const std::vector<engine::TokenLogprob>& logprobs,
                                   int32_t top_logprobs) {
  ordered_json content = ordered_json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    ordered_json entry;
    entry["token"] = logprob_token_text(codec, ids[i]);
    entry["logprob"] = i < logprobs.size() ? clamp_logprob(logprobs[i].logprob) : -9999.0;
    entry["bytes"] = byte_list(raw_bytes(codec, ids[i]));
    ordered_json top = ordered_json::array();
    if (i < logprobs.size()) {
      for (const auto& [id, value] : logprobs[i].top) {
        if (int32_t(top.size()) >= top_logprobs) break;
        ordered_json alt;
        alt["token"] = logprob_token_text(codec, id);
        alt["logprob"] = clamp_logprob(value);
        alt["bytes"] = byte_list(raw_bytes(codec, id));
        top.push_back(std::move(alt));
      }
    }
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
  return content;
}

}  // namespace kvtier::server
