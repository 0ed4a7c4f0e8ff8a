#pragma once
// A byte-level TextCodec for handler tests: one token per byte (ids 0..255), a few special ids
// above, and a fixed chat layout "<|role|>content\n" that ends with "<|assistant|>" when a
// generation prompt is asked for, then the tools as JSON and chat_template_kwargs' "suffix". Deterministic and independent of the real tokenizer.
// A request's own template (options.chat_template) is rendered by the real interpreter instead,
// with chat_template_kwargs, messages and add_generation_prompt. With bos_token_id set, add_special_tokens() puts that
// id first, as a Llama-style post-processor does (by default it adds none, as Qwen3's).
#include <optional>
#include <string>
#include <vector>

#include "server/text_codec.h"
#include "tokenizer/chat_template.h"

namespace kvtier::server::testing {

class FakeCodec final : public TextCodec {
 public:
  Expected<std::vector<int32_t>> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    for (unsigned char c : text) ids.push_back(int32_t(c));
    return ids;
  }
  void add_special_tokens(std::vector<int32_t>& ids) const override {
    if (bos_token_id) ids.insert(ids.begin(), *bos_token_id);
  }
  Expected<std::string> render_chat(const nlohmann::ordered_json& messages,
                                    const tokenizer::ChatOptions& options) const override {
    if (options.chat_template) {
      nlohmann::ordered_json variables =
          options.template_kwargs.is_object() ? options.template_kwargs
                                              : nlohmann::ordered_json::object();
      variables["messages"] = messages;
      variables["add_generation_prompt"] = options.add_generation_prompt;
      return options.chat_template->render(variables);
    }
    std::string out;
    for (const auto& m : messages) {
      if (m["role"] == "bad") return invalid_argument("role 'bad' is not supported by the template");
      out += "<|" + m["role"].get<std::string>() + "|>";
      if (m["content"].is_string()) out += m["content"].get<std::string>();
      out += "\n";
    }
    if (options.add_generation_prompt) out += "<|assistant|>";
    if (options.enable_thinking.has_value() && !*options.enable_thinking) out += "<nothink>";
    if (!options.ordered_tools.is_null()) out += "<tools>" + options.ordered_tools.dump();
    if (options.template_kwargs.is_object() && options.template_kwargs.contains("suffix")) {
      out += options.template_kwargs["suffix"].get<std::string>();
    }
    return out;
  }
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id < 256) out += char(id);
      else if (!skip_special_tokens) out.append("<").append(std::to_string(id)).append(">");
    }
    return out;
  }
  std::string token_text(int32_t id) const override {
    if (id >= 128 && id < 256) return "\xEF\xBF\xBD";  // a lone byte of a multi-byte character
    int32_t one[1] = {id};
    return decode(one, false);
  }
  std::string token_bytes(int32_t id) const override {
    if (id < 256) return std::string(1, char(id));
    return std::string("<").append(std::to_string(id)).append(">");
  }
  int32_t vocab_size() const override { return 300; }

  std::optional<int32_t> bos_token_id;  // set before the first request
};

}  // namespace kvtier::server::testing
