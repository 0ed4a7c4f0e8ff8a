#include "server/request_chat_template.h"

namespace kvtier::server {

Expected<std::shared_ptr<const tokenizer::ChatTemplate>> RequestTemplateCache::compile(
    const std::string& source) const {
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first != source) continue;
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().second;
    }
  }
  // Parsed outside the lock: a large template must not hold up the other workers.
  auto parsed = tokenizer::ChatTemplate::parse(source, "chat_template");
  if (!parsed) return parsed.error();
  std::shared_ptr<const tokenizer::ChatTemplate> compiled = std::move(*parsed);
  if (source.size() > kMaxCachedBytes) return compiled;
  std::lock_guard lock(mu_);
  for (const auto& entry : entries_) {
    if (entry.first == source) return entry.second;  // another worker compiled it meanwhile
  }
  entries_.emplace_front(source, compiled);
  if (entries_.size() > kEntries) entries_.pop_back();
  return compiled;
}

size_t RequestTemplateCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

Expected<std::string> render_chat_prompt(const TextCodec& codec, ChatApiRequest& request,
                                         bool trusted, const RequestTemplateCache& cache) {
  if (!request.chat_template) return codec.render_chat(request.messages, request.chat);
  if (!trusted) {
    return invalid_argument(
        "chat_template is passed with the request, but --trust-request-chat-template is not "
        "set: refused request with untrusted chat template");
  }
  KVTIER_ASSIGN_OR_RETURN(request.chat.chat_template, cache.compile(*request.chat_template));
  auto rendered = codec.render_chat(request.messages, request.chat);
  if (!rendered) return invalid_argument("chat_template: {}", rendered.error().message());
  return rendered;
}

}  // namespace kvtier::server
