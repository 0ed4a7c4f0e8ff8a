#include "tokenizer/tokenizer_json_stream.h"

#include <vector>

namespace kvtier::tokenizer {
namespace {

using json = nlohmann::json;

class Handler : public nlohmann::json_sax<json> {
 public:
  Handler(StreamedTokenizerJson& out, std::string_view where) : out_(out), where_(where) {}

  const Status& status() const { return status_; }

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::kVocab) return vocab_id(v);
    return value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) return vocab_id(v > static_cast<number_unsigned_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v));
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (mode_ == Mode::kVocab) return vocab_id(-1);
    return value(json(v));
  }
  bool string(string_t& v) override {
    if (mode_ == Mode::kVocab) return fail(vocab_path(), "expected a non-negative 32-bit id");
    if (mode_ == Mode::kMerges) {
      const size_t space = v.find(' ');
      if (space == std::string::npos || v.find(' ', space + 1) != std::string::npos) {
        return fail(merge_path(), "expected \"left right\" with one space, got '" + v + "'");
      }
      out_.bpe.merges.emplace_back(v.substr(0, space), v.substr(space + 1));
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      pair_.push_back(std::move(v));
      return true;
    }
    return value(json(std::move(v)));
  }
  bool binary(binary_t&) override { return fail("(file)", "unexpected binary value"); }

  bool start_object(std::size_t) override {
    if (mode_ != Mode::kTree) return fail(mode_ == Mode::kVocab ? vocab_path() : merge_path(), "unexpected object");
    if (at("model", "vocab")) {
      mode_ = Mode::kVocab;
      out_.has_vocab = true;
      out_.bpe.vocab.reserve(1 << 18);
      return open(json::object());
    }
    return open(json::object());
  }
  bool key(string_t& k) override {
    if (mode_ == Mode::kVocab) {
      key_ = std::move(k);
      return true;
    }
    key_ = k;
    object_element_ = &(*stack_.back().node)[k];
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) mode_ = Mode::kTree;
    return close();
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::kTree) return fail(mode_ == Mode::kVocab ? vocab_path() : merge_path(), "unexpected array");
    if (at("model", "merges")) {
      mode_ = Mode::kMerges;
      out_.has_merges = true;
      out_.bpe.merges.reserve(1 << 18);
      return open(json::array());
    }
    return open(json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) return fail(merge_path(), "expected \"left right\" or [left, right]");
      out_.bpe.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) mode_ = Mode::kTree;
    return close();
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    if (status_.is_ok()) status_ = data_loss("{}: not valid JSON at byte {}: {}", where_, position, e.what());
    return false;
  }

 private:
  enum class Mode { kTree, kVocab, kMerges, kMergePair };
  struct Open {
    json* node;
    std::string key;  // this container's key in its parent object ("" in arrays and at the root)
  };

  // The container about to open sits at root.<parent>.<child>.
  bool at(const char* parent, const char* child) const {
    return stack_.size() == 2 && stack_[1].key == parent && stack_[1].node->is_object() && key_ == child;
  }

  // Adds a value where the parser is (root, array element, or object member) and returns it.
  json* place(json v) {
    if (stack_.empty()) {
      out_.root = std::move(v);
      return &out_.root;
    }
    json& parent = *stack_.back().node;
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    *object_element_ = std::move(v);
    return object_element_;
  }
  bool value(json v) {
    if (mode_ == Mode::kVocab) return fail(vocab_path(), "expected a non-negative 32-bit id");
    if (mode_ != Mode::kTree) return fail(merge_path(), "expected \"left right\" or [left, right]");
    place(std::move(v));
    return true;
  }
  bool open(json container) {
    const std::string key = !stack_.empty() && stack_.back().node->is_object() ? key_ : std::string();
    json* node = place(std::move(container));
    stack_.push_back(Open{node, key});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  bool vocab_id(int64_t id) {
    if (id < 0 || id > INT32_MAX) return fail(vocab_path(), "expected a non-negative 32-bit id");
    out_.bpe.vocab.emplace(std::move(key_), static_cast<int32_t>(id));
    return true;
  }
  std::string vocab_path() const { return "model.vocab[\"" + key_ + "\"]"; }
  std::string merge_path() const { return "model.merges[" + std::to_string(out_.bpe.merges.size()) + "]"; }
  bool fail(const std::string& path, const std::string& what) {
    if (status_.is_ok()) status_ = invalid_argument("{}: {}: {}", where_, path, what);
    return false;
  }

  StreamedTokenizerJson& out_;
  std::string where_;
  Status status_;
  Mode mode_ = Mode::kTree;
  std::vector<Open> stack_;
  std::string key_;
  json* object_element_ = nullptr;
  std::vector<std::string> pair_;
};

}  // namespace

Expected<StreamedTokenizerJson> stream_tokenizer_json(std::string_view text, std::string_view where) {
  StreamedTokenizerJson out;
  Handler handler(out, where);
  const bool ok = json::sax_parse(text, &handler);
  if (!ok || !handler.status().is_ok()) {
    if (!handler.status().is_ok()) return handler.status();
    return data_loss("{}: not valid JSON", where);
  }
  return out;
}

}  // namespace kvtier::tokenizer
