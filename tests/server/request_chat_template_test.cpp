// A chat request's own chat_template: refused unless the server trusts request templates (vLLM's
// --trust-request-chat-template), else rendered instead of the server's template, with every
// error naming chat_template and the interpreter's limits still in force.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/request_chat_template.h"
#include "server/serve_args.h"
#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;
using Ids = std::vector<int32_t>;

constexpr const char* kBrackets =
    "{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}"
    "{% if add_generation_prompt %}>{% endif %}";

json user(const std::string& content) {
  return json::array({{{"role", "user"}, {"content", content}}});
}

Ids bytes_of(const std::string& text) { return Ids(text.begin(), text.end()); }

ApiConfig trusting() {
  ApiConfig config;
  config.trust_request_chat_template = true;
  return config;
}

std::string error_message(const TestResponder& r) {
  return r.json()["error"]["message"].get<std::string>();
}

TEST(RequestChatTemplate, RefusedUnlessTheServerTrustsRequestTemplates) {
  ApiHarness h;
  auto r = h.post("/v1/chat/completions", {{"messages", user("hi")}, {"chat_template", kBrackets}});
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(error_message(*r).find("chat_template"), std::string::npos) << r->body;
  EXPECT_NE(error_message(*r).find("--trust-request-chat-template"), std::string::npos);
  // chat_template_kwargs.chat_template is the same template by another road.
  auto kwargs = h.post("/v1/chat/completions",
                       {{"messages", user("hi")},
                        {"chat_template_kwargs", {{"chat_template", kBrackets}}}});
  EXPECT_EQ(kwargs->status, 400) << kwargs->body;
  auto tokenize = h.post("/tokenize", {{"messages", user("hi")}, {"chat_template", kBrackets}});
  EXPECT_EQ(tokenize->status, 400) << tokenize->body;
  EXPECT_TRUE(h.engine.submitted().empty());
  // null is no template.
  EXPECT_EQ(h.post("/v1/chat/completions",
                   {{"messages", user("hi")}, {"max_tokens", 1}, {"chat_template", nullptr}})
                ->status,
            200);
}

TEST(RequestChatTemplate, RendersThisRequestsMessagesWithIt) {
  ApiHarness h(trusting());
  auto own = h.post("/v1/chat/completions",
                    {{"messages", user("hi")}, {"max_tokens", 2}, {"chat_template", kBrackets}});
  ASSERT_EQ(own->status, 200) << own->body;
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, bytes_of("[user:hi]>"));
  EXPECT_EQ(own->json()["usage"]["prompt_tokens"], 10);

  // The next request without one gets the server's template again.
  h.post("/v1/chat/completions", {{"messages", user("hi")}, {"max_tokens", 2}});
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, bytes_of("<|user|>hi\n<|assistant|>"));

  // add_generation_prompt reaches the request's template.
  h.post("/v1/chat/completions", {{"messages", user("hi")}, {"max_tokens", 2},
                                  {"chat_template", kBrackets}, {"add_generation_prompt", false}});
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, bytes_of("[user:hi]"));

  auto tokenized = h.post("/tokenize", {{"messages", user("hi")}, {"chat_template", kBrackets}});
  EXPECT_EQ(tokenized->json()["tokens"], json(bytes_of("[user:hi]>")));
}

TEST(RequestChatTemplate, KwargsTemplateWinsAndIsNoTemplateVariable) {
  ApiHarness h(trusting());
  const std::string probe = "{{ chat_template is defined }}|{{ flavour }}";
  auto r = h.post("/v1/chat/completions",
                  {{"messages", user("hi")},
                   {"max_tokens", 1},
                   {"chat_template", kBrackets},
                   {"chat_template_kwargs", {{"chat_template", probe}, {"flavour", "mint"}}}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, bytes_of("False|mint"));
}

TEST(RequestChatTemplate, BrokenTemplatesAreBadRequestsNamingChatTemplate) {
  ApiHarness h(trusting());
  struct Case {
    json chat_template;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"{% for m in messages %}{{ m.content }}", "chat_template: line 1"},
      {"{{ raise_exception('no system role here') }}", "no system role here"},
      {"{{ messages[0].missing.attr }}", "chat_template"},
      // The output limit holds for a request's template as for the server's.
      {"{% set s = namespace(v='xxxxxxxx') %}{% for i in range(40) %}{% set s.v = s.v + s.v %}"
       "{% endfor %}{{ s.v }}",
       "bytes"},
      {5, "chat_template must be a string, got an integer"},
  };
  for (const Case& c : cases) {
    auto r = h.post("/v1/chat/completions",
                    {{"messages", user("hi")}, {"chat_template", c.chat_template}});
    EXPECT_EQ(r->status, 400) << c.chat_template << "\n" << r->body;
    if (r->status != 400) continue;
    std::string message = error_message(*r);
    EXPECT_NE(message.find("chat_template"), std::string::npos) << message;
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
  }
  EXPECT_TRUE(h.engine.submitted().empty());
}

TEST(RequestTemplateCache, KeepsTheMostRecentTemplatesByText) {
  RequestTemplateCache cache;
  auto first = cache.compile(kBrackets);
  ASSERT_TRUE(first) << first.error().message();
  auto again = cache.compile(kBrackets);
  ASSERT_TRUE(again);
  EXPECT_EQ(first->get(), again->get()) << "the same text compiles once";
  for (size_t i = 0; i < 2 * RequestTemplateCache::kEntries; ++i) {
    ASSERT_TRUE(cache.compile("{{ " + std::to_string(i) + " }}"));
  }
  EXPECT_EQ(cache.size(), RequestTemplateCache::kEntries);
  auto evicted = cache.compile(kBrackets);
  ASSERT_TRUE(evicted);
  EXPECT_NE(evicted->get(), first->get()) << "the oldest entries made room";

  const std::string big = "{{ 1 }}" + std::string(RequestTemplateCache::kMaxCachedBytes, ' ');
  auto b1 = cache.compile(big);
  auto b2 = cache.compile(big);
  ASSERT_TRUE(b1 && b2);
  EXPECT_NE(b1->get(), b2->get()) << "large templates are not kept";
  EXPECT_FALSE(cache.compile("{% if %}"));
}

TEST(RequestChatTemplate, TrustIsAServeFlag) {
  auto off = parse_serve_args({"m"});
  ASSERT_TRUE(off.options) << off.message;
  EXPECT_FALSE(off.options->api.trust_request_chat_template);
  auto on = parse_serve_args({"m", "--trust-request-chat-template"});
  ASSERT_TRUE(on.options) << on.message;
  EXPECT_TRUE(on.options->api.trust_request_chat_template);
}

}  // namespace
}  // namespace kvtier::server::testing
