#include "tokenizer/jsonl_commands.h"

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace kvtier::tokenizer {
namespace {

using ordered_json = nlohmann::ordered_json;

std::string dump(const ordered_json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// Runs `handle` on each non-blank line; errors become {"error": ...} lines.
size_t for_each_line(std::istream& in, std::ostream& out, std::ostream& err,
                     const std::function<Expected<ordered_json>(const ordered_json&)>& handle) {
  size_t bad = 0;
  size_t number = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    Expected<ordered_json> result = [&]() -> Expected<ordered_json> {
      ordered_json request;
      try {
        request = ordered_json::parse(line);
      } catch (const ordered_json::parse_error& e) {
        return invalid_argument("not valid JSON: {}", e.what());
      }
      if (!request.is_object()) return invalid_argument("expected a JSON object");
      return handle(request);
    }();
    if (result) {
      out << dump(*result) << '\n';
    } else {
      ++bad;
      const std::string message = fmt::format("line {}: {}", number, result.error().message());
      err << "error: " << message << '\n';
      out << dump(ordered_json{{"error", message}}) << '\n';
    }
  }
  out.flush();
  return bad;
}

Expected<ordered_json> tokenize_one(const Tokenizer& tokenizer, const ordered_json& request) {
  const bool has_text = request.contains("text");
  const bool has_messages = request.contains("messages");
  if (has_text == has_messages) return invalid_argument("expected either \"text\" or \"messages\"");
  ordered_json response;
  std::string text;
  if (has_text) {
    if (!request["text"].is_string()) return invalid_argument("\"text\" must be a string");
    text = request["text"].get<std::string>();
  } else {
    ChatOptions options;
    if (auto it = request.find("add_generation_prompt"); it != request.end()) {
      if (!it->is_boolean()) return invalid_argument("\"add_generation_prompt\" must be true or false");
      options.add_generation_prompt = it->get<bool>();
    }
    if (auto it = request.find("enable_thinking"); it != request.end() && !it->is_null()) {
      if (!it->is_boolean()) return invalid_argument("\"enable_thinking\" must be true or false");
      options.enable_thinking = it->get<bool>();
    }
    if (auto it = request.find("tools"); it != request.end() && !it->is_null()) {
      if (!it->is_array()) return invalid_argument("\"tools\" must be an array");
      options.ordered_tools = *it;
    }
    if (auto it = request.find("chat_template_kwargs"); it != request.end() && !it->is_null()) {
      if (!it->is_object()) return invalid_argument("\"chat_template_kwargs\" must be an object");
      options.template_kwargs = *it;
    }
    KVTIER_ASSIGN_OR_RETURN(text, tokenizer.apply_chat_template(request["messages"], options));
  }
  KVTIER_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer.encode(text));
  response["ids"] = ids;
  if (has_messages) response["text"] = text;
  return response;
}

Expected<ordered_json> detokenize_one(const Tokenizer& tokenizer, bool skip_special, const ordered_json& request) {
  auto it = request.find("ids");
  if (it == request.end() || !it->is_array()) return invalid_argument("expected \"ids\": [token ids]");
  std::vector<int32_t> ids;
  ids.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const ordered_json& id = (*it)[i];
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= tokenizer.vocab_size()) {
      return make_error(ErrorCode::kOutOfRange, "ids[{}]: {} is not a token id (vocabulary size {})", i, id.dump(),
                        tokenizer.vocab_size());
    }
    ids.push_back(id.get<int32_t>());
  }
  return ordered_json{{"text", tokenizer.decode(ids, skip_special)}};
}

}  // namespace

size_t tokenize_lines(const Tokenizer& tokenizer, std::istream& in, std::ostream& out, std::ostream& err) {
  return for_each_line(in, out, err, [&](const ordered_json& r) { return tokenize_one(tokenizer, r); });
}

size_t detokenize_lines(const Tokenizer& tokenizer, bool skip_special_tokens, std::istream& in, std::ostream& out,
                        std::ostream& err) {
  return for_each_line(in, out, err,
                       [&](const ordered_json& r) { return detokenize_one(tokenizer, skip_special_tokens, r); });
}

}  // namespace kvtier::tokenizer
