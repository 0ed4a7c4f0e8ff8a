// Chat templates that expand without bound stop at an output limit with a clear message, not
// at std::bad_alloc.
#include <gtest/gtest.h>

#include "tokenizer/chat_template.h"

namespace kvtier::tokenizer {
namespace {

std::string render_error(std::string_view source) {
  auto t = ChatTemplate::parse(source, "tmpl");
  if (!t) return "parse error: " + t.error().message();
  auto r = (*t)->render(nlohmann::ordered_json::object());
  return r ? "(rendered " + std::to_string(r->size()) + " bytes)" : r.error().message();
}

void expect_output_limit(std::string_view source) {
  const std::string m = render_error(source);
  EXPECT_NE(m.find("chat template"), std::string::npos) << m;
  EXPECT_NE(m.find("more than"), std::string::npos) << m;
  EXPECT_NE(m.find("bytes"), std::string::npos) << m;
  EXPECT_EQ(m.find("bad_alloc"), std::string::npos) << m;
}

TEST(HostileTemplate, TagCutShortByATruncatedUtf8SpaceIsAnError) {
  // 0xEC starts a 3-byte sequence whose bits so far read as a form feed (a space to Python): the
  // lexer's whitespace skip must stop at the template's end, not step past it.
  const std::string m = render_error("{{ \xEC");
  EXPECT_NE(m.find("parse error"), std::string::npos) << m;
  EXPECT_NE(m.find("unexpected end of template"), std::string::npos) << m;
}

TEST(HostileTemplate, OutputPastTheLimitIsRefused) {
  // 100 x 1 MB of output: each piece is small, the whole is past the limit.
  expect_output_limit("{% for i in range(100) %}{{ 'x' * 1000000 }}{% endfor %}");
}

TEST(HostileTemplate, DoublingStringsAreStopped) {
  expect_output_limit(
      "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(60) %}"
      "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}");
  expect_output_limit(
      "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(60) %}"
      "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}");
  expect_output_limit(
      "{% set ns = namespace(s=['x']) %}{% for i in range(60) %}"
      "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}");
}

TEST(HostileTemplate, RecursiveMacrosGrowingOutputAreStopped) {
  expect_output_limit(
      "{% macro m(n) %}{{ 'y' * 4000000 }}{% if n > 0 %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}"
      "{% endmacro %}{{ m(30) }}");
}

TEST(HostileTemplate, LargeButSaneOutputStillRenders) {
  // A long prompt (4 MB) is fine.
  EXPECT_EQ(render_error("{% for i in range(4) %}{{ 'x' * 1000000 }}{% endfor %}"),
            "(rendered 4000000 bytes)");
}

}  // namespace
}  // namespace kvtier::tokenizer
