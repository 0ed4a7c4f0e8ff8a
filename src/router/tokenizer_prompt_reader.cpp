#include <string>

#include "router/prompt_reader.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::router {
namespace {

// Message content as `kvtier serve` renders it: a string, null, or a list of parts whose text
// ("text" / "input_text" parts and bare strings) is joined with "\n" (vLLM's string content
// format). Other parts (images) cannot be tokenized by the router.
Expected<nlohmann::json> normalize_messages(const nlohmann::json& messages) {
  if (!messages.is_array() || messages.empty()) {
    return invalid_argument("'messages' must be a non-empty list");
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : messages) {
    if (!m.is_object()) return invalid_argument("each message must be an object");
    nlohmann::json copy = m;
    auto c = m.find("content");
    if (c == m.end()) {
      copy["content"] = nullptr;
    } else if (c->is_array()) {
      std::string text;
      for (const auto& part : *c) {
        std::string piece;
        if (part.is_string()) {
          piece = part.get<std::string>();
        } else if (part.is_object() && part.contains("text") && part["text"].is_string() &&
                   (part.value("type", "") == "text" || part.value("type", "") == "input_text")) {
          piece = part["text"].get<std::string>();
        } else {
          return invalid_argument("message content parts other than text are not routable");
        }
        if (!text.empty()) text += '\n';
        text += piece;
      }
      copy["content"] = text;
    } else if (!c->is_string() && !c->is_null()) {
      return invalid_argument("message content must be a string or a list of parts");
    }
    out.push_back(std::move(copy));
  }
  return out;
}

Expected<std::vector<int32_t>> token_list(const nlohmann::json& prompt) {
  std::vector<int32_t> tokens;
  tokens.reserve(prompt.size());
  for (const auto& t : prompt) {
    if (!t.is_number_integer()) return invalid_argument("'prompt' token ids must be integers");
    tokens.push_back(t.get<int32_t>());
  }
  return tokens;
}

class TokenizerPromptReader : public PromptReader {
 public:
  explicit TokenizerPromptReader(std::shared_ptr<const tokenizer::Tokenizer> tokenizer)
      : tokenizer_(std::move(tokenizer)) {}

  Expected<SchedulingRequest> read(ApiKind kind, const nlohmann::json& body) const override {
    if (!body.is_object()) return invalid_argument("the request body must be a JSON object");
    std::string salt;
    if (auto s = body.find("cache_salt"); s != body.end() && s->is_string()) {
      salt = s->get<std::string>();
    }
    if (kind == ApiKind::kCompletions) {
      auto p = body.find("prompt");
      if (p == body.end()) return invalid_argument("missing 'prompt'");
      const nlohmann::json* prompt = &*p;
      // A batch of one prompt reads as that prompt; larger batches go to one endpoint and are
      // scored by their first prompt.
      if (prompt->is_array() && !prompt->empty() && !(*prompt)[0].is_number()) {
        prompt = &(*prompt)[0];
      }
      if (prompt->is_string()) return encode(prompt->get<std::string>(), std::move(salt));
      if (prompt->is_array()) {
        KVTIER_ASSIGN_OR_RETURN(auto tokens, token_list(*prompt));
        return SchedulingRequest(std::move(tokens), std::move(salt));
      }
      return invalid_argument("'prompt' must be a string or a list of token ids");
    }
    auto m = body.find("messages");
    if (m == body.end()) return invalid_argument("missing 'messages'");
    KVTIER_ASSIGN_OR_RETURN(nlohmann::json messages, normalize_messages(*m));
    tokenizer::ChatOptions options;
    if (auto g = body.find("add_generation_prompt"); g != body.end() && g->is_boolean()) {
      options.add_generation_prompt = g->get<bool>();
    }
    if (auto k = body.find("chat_template_kwargs"); k != body.end() && k->is_object()) {
      if (auto t = k->find("enable_thinking"); t != k->end() && t->is_boolean()) {
        options.enable_thinking = t->get<bool>();
      }
    }
    if (auto t = body.find("tools"); t != body.end() && t->is_array()) options.tools = *t;
    KVTIER_ASSIGN_OR_RETURN(std::string text, tokenizer_->apply_chat_template(messages, options));
    return encode(text, std::move(salt));
  }

 private:
  Expected<SchedulingRequest> encode(const std::string& text, std::string salt) const {
    KVTIER_ASSIGN_OR_RETURN(auto tokens, tokenizer_->encode(text));
    return SchedulingRequest(std::move(tokens), std::move(salt));
  }

  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
};

}  // namespace

std::shared_ptr<const PromptReader> make_tokenizer_prompt_reader(
    std::shared_ptr<const tokenizer::Tokenizer> tokenizer) {
  return std::make_shared<TokenizerPromptReader>(std::move(tokenizer));
}

}  // namespace kvtier::router
