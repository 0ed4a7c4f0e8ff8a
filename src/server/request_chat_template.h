#pragma once
// A chat request's own template (vLLM's ChatCompletionRequest.chat_template), checked and
// compiled per request. As in vLLM 0.11, a server takes one only when started with
// --trust-request-chat-template: a template is a program, and a hostile one costs CPU and memory
// (the interpreter's output and iteration limits still bound it when it is trusted).
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/status.h"
#include "server/api_request.h"
#include "server/text_codec.h"
#include "tokenizer/chat_template.h"

namespace kvtier::server {

// Compiled request templates, the most recently used few kept by their text: clients that send
// a template tend to send the same one with every request, and parsing costs more than
// rendering. Shared by the tokenizer workers (thread-safe).
class RequestTemplateCache {
 public:
  static constexpr size_t kEntries = 16;
  static constexpr size_t kMaxCachedBytes = 64 * 1024;  // larger templates are compiled each time

  // The compiled template, or a parse error naming chat_template, the line and the construct.
  Expected<std::shared_ptr<const tokenizer::ChatTemplate>> compile(const std::string& source) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;  // guards entries_
  // Most recently used first.
  mutable std::list<std::pair<std::string, std::shared_ptr<const tokenizer::ChatTemplate>>>
      entries_;
};

// The chat's prompt text: its messages rendered with the request's own template when it brings
// one (refused unless `trusted`; errors name chat_template), else with the codec's.
Expected<std::string> render_chat_prompt(const TextCodec& codec, ChatApiRequest& request,
                                         bool trusted, const RequestTemplateCache& cache);

}  // namespace kvtier::server
