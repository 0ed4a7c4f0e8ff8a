#include "tokenizer/tokenizer.h"

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/regex_splitter.h"
#include "tokenizer/tokenizer_config.h"
#include "tokenizer/tokenizer_json.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {
namespace {

constexpr uint8_t kExists = 1;
constexpr uint8_t kSpecial = 2;

std::string identity(std::string_view s) { return std::string(s); }

}  // namespace

struct Tokenizer::Impl {
  std::unique_ptr<BpeModel> bpe;
  AddedVocabulary added;
  bool nfc = false;
  std::vector<std::unique_ptr<RegexSplitter>> splitters;
  std::vector<std::string> token_bytes;  // by id: the bytes decode() emits
  std::vector<uint8_t> flags;            // by id: kExists, kSpecial
  Vocab added_ids;                       // added token content -> id
  TokenizerConfig config;
  std::optional<int32_t> eos, pad, bos;
  std::unique_ptr<ChatTemplate> chat_template;

  Status pre_tokenize(std::string_view text, std::vector<std::string_view>& words) const {
    words.clear();
    if (splitters.empty()) {
      words.push_back(text);
      return Status::ok();
    }
    KVTIER_RETURN_IF_ERROR(splitters[0]->split(text, words));
    for (size_t s = 1; s < splitters.size(); ++s) {
      std::vector<std::string_view> next;
      for (std::string_view w : words) KVTIER_RETURN_IF_ERROR(splitters[s]->split(w, next));
      words = std::move(next);
    }
    return Status::ok();
  }

  Status encode_plain(std::string_view text, std::vector<int32_t>& ids) const {
    const std::string normalized = nfc ? tokenizer::nfc(text) : std::string(text);
    std::vector<TextPiece> pieces;
    added.split_normalized(normalized, pieces);
    std::vector<std::string_view> words;
    for (const TextPiece& piece : pieces) {
      if (piece.id >= 0) {
        ids.push_back(piece.id);
        continue;
      }
      KVTIER_RETURN_IF_ERROR(pre_tokenize(piece.text, words));
      for (std::string_view w : words) bpe->encode_word(w, ids);
    }
    return Status::ok();
  }
};

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;

Expected<std::shared_ptr<const Tokenizer>> Tokenizer::load(const std::filesystem::path& dir) {
  const std::filesystem::path json_path = dir / "tokenizer.json";
  if (!std::filesystem::exists(json_path)) return not_found("no tokenizer.json in {}", dir.string());
  KVTIER_ASSIGN_OR_RETURN(TokenizerSpec spec, read_tokenizer_json(json_path));
  KVTIER_ASSIGN_OR_RETURN(TokenizerConfig config, read_tokenizer_config(dir));
  return build(std::move(spec), std::move(config));
}

Expected<std::shared_ptr<const Tokenizer>> Tokenizer::build(TokenizerSpec spec, TokenizerConfig config) {
  std::shared_ptr<Tokenizer> t(new Tokenizer());
  Impl& impl = *t->impl_;
  impl.nfc = spec.nfc;
  for (size_t i = 0; i < spec.split_patterns.size(); ++i) {
    KVTIER_ASSIGN_OR_RETURN(auto splitter,
                            RegexSplitter::compile(spec.split_patterns[i], "tokenizer.json: pre_tokenizer"));
    impl.splitters.push_back(std::move(splitter));
  }

  int32_t max_id = -1;
  for (const auto& [token, id] : spec.bpe.vocab) max_id = std::max(max_id, id);
  for (const AddedToken& a : spec.added_tokens) max_id = std::max(max_id, a.id);
  impl.token_bytes.resize(static_cast<size_t>(max_id + 1));
  impl.flags.assign(static_cast<size_t>(max_id + 1), 0);
  for (const auto& [token, id] : spec.bpe.vocab) {
    impl.token_bytes[id] = from_byte_level(token);
    impl.flags[id] = kExists;
  }
  for (const AddedToken& a : spec.added_tokens) {
    impl.token_bytes[a.id] = from_byte_level(a.content);
    impl.flags[a.id] = kExists | (a.special ? kSpecial : 0);
    impl.added_ids[a.content] = a.id;
  }
  impl.added = AddedVocabulary(std::move(spec.added_tokens), spec.nfc ? nfc : identity);
  KVTIER_ASSIGN_OR_RETURN(impl.bpe, BpeModel::build(std::move(spec.bpe), "tokenizer.json"));

  auto special_id = [&](const std::optional<std::string>& token, const char* field) -> Expected<std::optional<int32_t>> {
    if (!token) return std::optional<int32_t>();
    if (auto id = t->token_to_id(*token)) return std::optional<int32_t>(*id);
    return invalid_argument("tokenizer_config.json: {} '{}' is not a token of tokenizer.json", field, *token);
  };
  KVTIER_ASSIGN_OR_RETURN(impl.eos, special_id(config.eos_token, "eos_token"));
  KVTIER_ASSIGN_OR_RETURN(impl.pad, special_id(config.pad_token, "pad_token"));
  KVTIER_ASSIGN_OR_RETURN(impl.bos, special_id(config.bos_token, "bos_token"));
  if (config.chat_template) {
    KVTIER_ASSIGN_OR_RETURN(impl.chat_template, ChatTemplate::parse(*config.chat_template, config.chat_template_source));
  }
  impl.config = std::move(config);
  return std::shared_ptr<const Tokenizer>(std::move(t));
}

Expected<std::vector<int32_t>> Tokenizer::encode(std::string_view text) const {
  if (const size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    return invalid_argument("text is not valid UTF-8: byte 0x{:02X} at byte offset {}",
                            static_cast<uint8_t>(text[bad]), bad);
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<TextPiece> pieces;
  impl_->added.split_raw(text, pieces);
  for (const TextPiece& piece : pieces) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
    } else {
      KVTIER_RETURN_IF_ERROR(impl_->encode_plain(piece.text, ids));
    }
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;  // unknown ids are skipped, as in Hugging Face
    const uint8_t f = impl_->flags[id];
    if ((f & kExists) == 0 || (skip_special_tokens && (f & kSpecial) != 0)) continue;
    bytes += impl_->token_bytes[id];
  }
  return utf8_lossy(bytes);
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || id >= vocab_size()) return kEmpty;
  return impl_->token_bytes[id];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && (impl_->flags[id] & kSpecial) != 0;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto it = impl_->added_ids.find(token); it != impl_->added_ids.end()) return it->second;
  return impl_->bpe->token_to_id(token);
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->flags.size()); }
std::optional<int32_t> Tokenizer::eos_token_id() const { return impl_->eos; }
std::optional<int32_t> Tokenizer::pad_token_id() const { return impl_->pad; }
std::optional<int32_t> Tokenizer::bos_token_id() const { return impl_->bos; }
bool Tokenizer::has_chat_template() const { return impl_->chat_template != nullptr; }
const ChatTemplate* Tokenizer::chat_template() const { return impl_->chat_template.get(); }

namespace {

// transformers renders with messages, tools, documents and add_generation_prompt, the special
// tokens of tokenizer_config.json and the caller's extra variables.
Expected<std::string> render_chat(const ChatTemplate* tmpl, const TokenizerConfig& config, jinja::Value messages,
                                  const ChatOptions& options) {
  if (tmpl == nullptr) return invalid_argument("this tokenizer has no chat template (tokenizer_config.json has no chat_template)");
  if (!messages.is_list()) return invalid_argument("messages must be an array of objects");
  for (const jinja::Value& m : messages.as_list()) {
    if (!m.is_dict()) return invalid_argument("messages must be an array of objects, found a {}", m.type_name());
  }
  TemplateVariables vars;
  auto token = [&](const char* name, const std::optional<std::string>& value) {
    if (value) vars.emplace_back(name, jinja::Value(*value));
  };
  token("bos_token", config.bos_token);
  token("eos_token", config.eos_token);
  token("pad_token", config.pad_token);
  token("unk_token", config.unk_token);
  if (options.template_kwargs.is_object()) {
    for (auto it = options.template_kwargs.begin(); it != options.template_kwargs.end(); ++it) {
      const std::string& k = it.key();
      if (k == "messages" || k == "tools" || k == "documents" || k == "add_generation_prompt") continue;
      vars.emplace_back(k, jinja::Value::from_json(it.value()));
    }
  } else if (!options.template_kwargs.is_null()) {
    return invalid_argument("chat template kwargs must be a JSON object");
  }
  if (options.enable_thinking) vars.emplace_back("enable_thinking", jinja::Value(*options.enable_thinking));
  vars.emplace_back("messages", std::move(messages));
  jinja::Value tools = !options.ordered_tools.is_null() ? jinja::Value::from_json(options.ordered_tools)
                                                        : jinja::Value::from_json(options.tools);
  vars.emplace_back("tools", std::move(tools));
  vars.emplace_back("documents", jinja::Value::none());
  vars.emplace_back("add_generation_prompt", jinja::Value(options.add_generation_prompt));
  return tmpl->render(vars);
}

}  // namespace

Expected<std::string> Tokenizer::apply_chat_template(const nlohmann::json& messages, const ChatOptions& options) const {
  return render_chat(template_for(options), impl_->config, jinja::Value::from_json(messages), options);
}

Expected<std::string> Tokenizer::apply_chat_template(const nlohmann::ordered_json& messages,
                                                     const ChatOptions& options) const {
  return render_chat(template_for(options), impl_->config, jinja::Value::from_json(messages), options);
}

const ChatTemplate* Tokenizer::template_for(const ChatOptions& options) const {
  return options.chat_template ? options.chat_template.get() : impl_->chat_template.get();
}

}  // namespace kvtier::tokenizer
