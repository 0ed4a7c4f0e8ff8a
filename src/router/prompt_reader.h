#pragma once
// Reads the prompt of an OpenAI request as the engine will see it, so the router's block keys
// equal the engine's: completions' prompt (text or token ids) and chat messages rendered with the
// model's chat template (add_generation_prompt true unless the request says otherwise).
// Implementations are shared by connections: read() must be thread-safe.
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "router/scheduling_request.h"

namespace kvtier::tokenizer {
class Tokenizer;
}

namespace kvtier::router {

enum class ApiKind { kCompletions, kChatCompletions };

class PromptReader {
 public:
  virtual ~PromptReader() = default;
  // An error when the body has no prompt the router can read; the request is then routed on
  // load alone and the endpoint reports what is wrong with it.
  virtual Expected<SchedulingRequest> read(ApiKind kind, const nlohmann::json& body) const = 0;
};

std::shared_ptr<const PromptReader> make_tokenizer_prompt_reader(
    std::shared_ptr<const tokenizer::Tokenizer> tokenizer);

}  // namespace kvtier::router
