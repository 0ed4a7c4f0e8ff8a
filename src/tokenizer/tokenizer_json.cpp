#include "tokenizer/tokenizer_json.h"

#include <fstream>
#include <sstream>

#include "common/regular_file.h"
#include "tokenizer/tokenizer_json_stream.h"

namespace kvtier::tokenizer {
namespace {

// GPT-2's pattern, what ByteLevel with use_regex=true splits on.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

using json = nlohmann::json;

class Reader {
 public:
  // `streamed`: vocab and merges already read by the streaming parser.
  Reader(std::string_view where, StreamedTokenizerJson* streamed) : where_(where), streamed_(streamed) {}

  Status unsupported(std::string_view path, std::string_view what) const {
    return make_error(ErrorCode::kUnimplemented, "{}: {}: {} is not supported", where_, path, what);
  }
  Status bad(std::string_view path, std::string_view what) const {
    return invalid_argument("{}: {}: {}", where_, path, what);
  }
  std::string type_of(const json& j) const {
    if (!j.is_object()) return "";
    auto it = j.find("type");
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
  }
  // A boolean field that must hold `expected` when present.
  Status require_flag(const json& obj, std::string_view path, const char* key, bool expected) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Status::ok();
    if (!it->is_boolean()) return bad(std::string(path) + "." + key, "expected a boolean");
    if (it->get<bool>() != expected) {
      return unsupported(std::string(path) + "." + key, fmt::format("the value {}", !expected));
    }
    return Status::ok();
  }

  Status read_model(const json& model, TokenizerSpec& spec) const {
    if (!model.is_object()) return bad("model", "expected an object");
    const std::string type = type_of(model);
    if (!type.empty() && type != "BPE") return unsupported("model.type", "model type '" + type + "'");
    auto dropout = model.find("dropout");
    if (dropout != model.end() && !dropout->is_null() && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
      return unsupported("model.dropout", "BPE dropout");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      auto it = model.find(key);
      if (it != model.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty())) {
        return unsupported(std::string("model.") + key, "a non-empty affix");
      }
    }
    KVTIER_RETURN_IF_ERROR(require_flag(model, "model", "byte_fallback", false));
    auto bool_field = [&](const char* key) {
      auto it = model.find(key);
      return it != model.end() && it->is_boolean() && it->get<bool>();
    };
    spec.bpe.fuse_unk = bool_field("fuse_unk");
    spec.bpe.ignore_merges = bool_field("ignore_merges");
    if (auto unk = model.find("unk_token"); unk != model.end() && unk->is_string()) {
      spec.bpe.unk_token = unk->get<std::string>();
    }

    auto vocab = model.find("vocab");
    if (vocab == model.end() || !vocab->is_object()) return bad("model.vocab", "expected an object of token -> id");
    if (streamed_ && streamed_->has_vocab) spec.bpe.vocab = std::move(streamed_->bpe.vocab);
    spec.bpe.vocab.reserve(vocab->size());
    for (auto it = vocab->begin(); it != vocab->end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
          it.value().get<int64_t>() > INT32_MAX) {
        return bad("model.vocab[\"" + it.key() + "\"]", "expected a non-negative 32-bit id");
      }
      spec.bpe.vocab.emplace(it.key(), it.value().get<int32_t>());
    }

    auto merges = model.find("merges");
    if (merges == model.end() || !merges->is_array()) return bad("model.merges", "expected an array");
    if (streamed_ && streamed_->has_merges) spec.bpe.merges = std::move(streamed_->bpe.merges);
    spec.bpe.merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const json& m = (*merges)[i];
      const std::string path = fmt::format("model.merges[{}]", i);
      if (m.is_string()) {
        const std::string& s = m.get_ref<const std::string&>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
          return bad(path, "expected \"left right\" with one space, got '" + s + "'");
        }
        spec.bpe.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        spec.bpe.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        return bad(path, "expected \"left right\" or [left, right]");
      }
    }
    return Status::ok();
  }

  Status read_normalizer(const json& n, const std::string& path, TokenizerSpec& spec) const {
    if (n.is_null()) return Status::ok();
    const std::string type = type_of(n);
    if (type == "NFC") {
      spec.nfc = true;
      return Status::ok();
    }
    if (type == "Sequence") {
      auto list = n.find("normalizers");
      if (list == n.end() || !list->is_array()) return bad(path + ".normalizers", "expected an array");
      for (size_t i = 0; i < list->size(); ++i) {
        KVTIER_RETURN_IF_ERROR(read_normalizer((*list)[i], fmt::format("{}.normalizers[{}]", path, i), spec));
      }
      return Status::ok();
    }
    return unsupported(path + ".type", "normalizer '" + type + "'");
  }

  Status read_byte_level(const json& p, const std::string& path, bool last, TokenizerSpec& spec) const {
    KVTIER_RETURN_IF_ERROR(require_flag(p, path, "add_prefix_space", false));
    auto use_regex = p.find("use_regex");
    const bool regex = use_regex == p.end() || !use_regex->is_boolean() || use_regex->get<bool>();
    if (regex) spec.split_patterns.emplace_back(kGpt2Pattern);
    if (!last) return unsupported(path, "a pre-tokenizer after ByteLevel");
    return Status::ok();
  }

  Status read_split(const json& p, const std::string& path, TokenizerSpec& spec) const {
    auto pattern = p.find("pattern");
    if (pattern == p.end() || !pattern->is_object()) return bad(path + ".pattern", "expected an object");
    auto regex = pattern->find("Regex");
    if (regex == pattern->end() || !regex->is_string()) {
      return unsupported(path + ".pattern", "a pattern other than {\"Regex\": ...}");
    }
    auto behavior = p.find("behavior");
    const std::string b = behavior != p.end() && behavior->is_string() ? behavior->get<std::string>() : "";
    if (b != "Isolated") return unsupported(path + ".behavior", "split behaviour '" + b + "'");
    KVTIER_RETURN_IF_ERROR(require_flag(p, path, "invert", false));
    spec.split_patterns.push_back(regex->get<std::string>());
    return Status::ok();
  }

  Status read_pre_tokenizer(const json& p, TokenizerSpec& spec) const {
    const std::string type = type_of(p);
    if (type == "ByteLevel") return read_byte_level(p, "pre_tokenizer", true, spec);
    if (type != "Sequence") {
      return unsupported("pre_tokenizer.type", "pre-tokenizer '" + (p.is_null() ? "null" : type) + "'");
    }
    auto list = p.find("pretokenizers");
    if (list == p.end() || !list->is_array() || list->empty()) {
      return bad("pre_tokenizer.pretokenizers", "expected a non-empty array");
    }
    bool byte_level = false;
    for (size_t i = 0; i < list->size(); ++i) {
      const json& item = (*list)[i];
      const std::string path = fmt::format("pre_tokenizer.pretokenizers[{}]", i);
      const std::string t = type_of(item);
      if (t == "Split") {
        KVTIER_RETURN_IF_ERROR(read_split(item, path, spec));
      } else if (t == "ByteLevel") {
        KVTIER_RETURN_IF_ERROR(read_byte_level(item, path, i + 1 == list->size(), spec));
        byte_level = true;
      } else {
        return unsupported(path + ".type", "pre-tokenizer '" + t + "'");
      }
    }
    if (!byte_level) return unsupported("pre_tokenizer", "a pre-tokenizer sequence without ByteLevel");
    return Status::ok();
  }

  Status read_added_tokens(const json& list, TokenizerSpec& spec) const {
    if (list.is_null()) return Status::ok();
    if (!list.is_array()) return bad("added_tokens", "expected an array");
    for (size_t i = 0; i < list.size(); ++i) {
      const json& t = list[i];
      const std::string path = fmt::format("added_tokens[{}]", i);
      if (!t.is_object()) return bad(path, "expected an object");
      auto id = t.find("id");
      auto content = t.find("content");
      if (id == t.end() || !id->is_number_integer() || id->get<int64_t>() < 0 || id->get<int64_t>() > INT32_MAX) {
        return bad(path + ".id", "expected a non-negative 32-bit id");
      }
      if (content == t.end() || !content->is_string() || content->get_ref<const std::string&>().empty()) {
        return bad(path + ".content", "expected a non-empty string");
      }
      AddedToken token;
      token.id = id->get<int32_t>();
      token.content = content->get<std::string>();
      auto flag = [&](const char* key) {
        auto it = t.find(key);
        return it != t.end() && it->is_boolean() && it->get<bool>();
      };
      token.special = flag("special");
      token.lstrip = flag("lstrip");
      token.rstrip = flag("rstrip");
      token.single_word = flag("single_word");
      token.normalized = flag("normalized");
      spec.added_tokens.push_back(std::move(token));
    }
    return Status::ok();
  }

  Expected<TokenizerSpec> read(const json& root) const {
    if (!root.is_object()) return bad("(root)", "expected an object");
    TokenizerSpec spec;
    auto field = [&](const char* key) -> const json& {
      static const json kNull;
      auto it = root.find(key);
      return it == root.end() ? kNull : *it;
    };
    for (const char* key : {"truncation", "padding"}) {
      if (!field(key).is_null()) return unsupported(key, std::string("a non-null ") + key);
    }
    KVTIER_RETURN_IF_ERROR(read_model(field("model"), spec));
    KVTIER_RETURN_IF_ERROR(read_normalizer(field("normalizer"), "normalizer", spec));
    KVTIER_RETURN_IF_ERROR(read_pre_tokenizer(field("pre_tokenizer"), spec));
    const json& decoder = field("decoder");
    if (type_of(decoder) != "ByteLevel") {
      return unsupported("decoder.type", "decoder '" + (decoder.is_null() ? "null" : type_of(decoder)) + "'");
    }
    const json& post = field("post_processor");
    if (!post.is_null() && type_of(post) != "ByteLevel") {
      return unsupported("post_processor.type", "post-processor '" + type_of(post) + "'");
    }
    KVTIER_RETURN_IF_ERROR(read_added_tokens(field("added_tokens"), spec));
    return spec;
  }

 private:
  std::string where_;
  StreamedTokenizerJson* streamed_;
};

}  // namespace

Expected<TokenizerSpec> parse_tokenizer_json(const nlohmann::json& root, std::string_view where) {
  return Reader(where, nullptr).read(root);
}

Expected<TokenizerSpec> read_tokenizer_json(const std::filesystem::path& path) {
  // A FIFO would block the read below forever: refuse anything but a regular file.
  if (Status s = require_regular_file(path); !s.is_ok() && s.code() != ErrorCode::kNotFound)
    return s;
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open {}", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_tokenizer_json_text(buffer.str(), path.string());
}

Expected<TokenizerSpec> parse_tokenizer_json_text(std::string_view text, std::string_view where) {
  KVTIER_ASSIGN_OR_RETURN(StreamedTokenizerJson streamed, stream_tokenizer_json(text, where));
  return Reader(where, &streamed).read(streamed.root);
}

}  // namespace kvtier::tokenizer
