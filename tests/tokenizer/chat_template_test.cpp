// The template interpreter's refusals and limits; its rendering is compared with transformers in
// reference_fixtures_test.cpp.
#include "tokenizer/chat_template.h"

#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"

namespace kvtier::tokenizer {
namespace {

using nlohmann::ordered_json;

std::string parse_error(std::string_view source) {
  auto t = ChatTemplate::parse(source, "tmpl");
  return t ? std::string("(parsed)") : t.error().message();
}

std::string render(std::string_view source, const ordered_json& vars = ordered_json::object()) {
  auto t = ChatTemplate::parse(source, "tmpl");
  if (!t) return "parse error: " + t.error().message();
  auto r = (*t)->render(vars);
  return r ? *r : "error: " + r.error().message();
}

TEST(ChatTemplate, RefusesAtLoadWhatItCannotRunNamingLineAndConstruct) {
  struct Case {
    const char* source;
    const char* expected;
  };
  const Case cases[] = {
      {"a\n{{ x | nosuchfilter }}", "tmpl: line 2: unsupported filter 'nosuchfilter'"},
      {"{% if x is nosuchtest %}{% endif %}", "line 1: unsupported test 'nosuchtest'"},
      {"\n\n{% include 'other.jinja' %}", "line 3: unsupported construct '{% include %}'"},
      {"{% call m() %}x{% endcall %}", "unsupported construct '{% call %}'"},
      {"{% for x in y recursive %}{% endfor %}", "unsupported construct 'recursive' loop"},
      {"{{ name.encode('utf-8') }}", "unsupported method 'encode()'"},
      {"{{ lipsum(3) }}", "unsupported function 'lipsum()'"},
      {"{% for x in y %}\n{{ x }}", "expected '{% endfor %}'"},
      {"{% if x %}{% endfor %}", "unexpected '{% endfor %}', expected '{% elif %}'"},
      {"{% endif %}", "line 1: unexpected '{% endif %}'"},
      {"{{ 'unterminated }}", "unterminated string literal"},
      {"{{ x +}}", "unexpected end of tag"},
      {"{{ }}", "empty expression"},
      {"{{ x ", "expected '}}'"},
      {"{# never closed", "missing end of comment"},
      {"{% raw %}no end", "missing '{% endraw %}'"},
      {"{{ 99999999999999999999 }}", "does not fit in 64 bits"},
      {"{{ f(*args) }}", "*args"},
  };
  for (const Case& c : cases) {
    const std::string message = parse_error(c.source);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.source << "\n -> " << message;
  }
}

TEST(ChatTemplate, CallsOfMacrosAndGlobalsAreAccepted) {
  EXPECT_EQ(render("{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{{ range(2)|list }}"), "<1>[0, 1]");
  // A call through a variable that may hold a macro is allowed at load.
  EXPECT_EQ(render("{% macro m() %}M{% endmacro %}{% set f = m %}{{ f() }}"), "M");
}

TEST(ChatTemplate, RenderErrorsNameTheLine) {
  EXPECT_EQ(render("ok\n{{ raise_exception('roles must alternate') }}"),
            "error: chat template line 2: roles must alternate");
  EXPECT_EQ(render("{{ missing.attr }}"), "error: chat template line 1: 'missing' is undefined");
  EXPECT_EQ(render("{{ 1 // 0 }}"), "error: chat template line 1: integer division or modulo by zero");
  EXPECT_EQ(render("{{ x|tojson }}"), "error: chat template line 1: Object of type Undefined is not JSON serializable");
  EXPECT_EQ(render("{% set x = 5 %}{% set x.a = 1 %}"),
            "error: chat template line 1: cannot assign attribute 'a' on 'x': not a namespace()");
  EXPECT_EQ(render("{{ 9223372036854775807 + 1 }}"), "error: chat template line 1: integer overflow (more than 64 bits)");
}

// Steps that would carry past INT64_MAX (or below INT64_MIN) stop at the bound as Python's do.
TEST(ChatTemplate, RangeNearTheIntegerLimitsStopsAtItsBound) {
  EXPECT_EQ(render("{{ range(9223372036854775800, 9223372036854775807, 5)|list }}"),
            "[9223372036854775800, 9223372036854775805]");
  EXPECT_EQ(render("{{ range(-9223372036854775800, -9223372036854775807, -5)|list }}"),
            "[-9223372036854775800, -9223372036854775805]");
  EXPECT_EQ(render("{{ range(10, 0, -3)|list }}{{ range(0, 10, 4)|list }}{{ range(3, 3)|list }}"),
            "[10, 7, 4, 1][0, 4, 8][]");
}

// Float literals beyond a double become inf (or 0.0) as Python's float() makes them.
TEST(ChatTemplate, FloatLiteralsBeyondADoubleAreInfinite) {
  EXPECT_EQ(render("{{ 1e999 }}|{{ -1e01234567 }}|{{ 1e-999 }}|{{ 1e999 > 10 }}"),
            "inf|-inf|0.0|True");
}

TEST(ChatTemplate, UndefinedValuesBehaveAsJinjasDefault) {
  EXPECT_EQ(render("[{{ x }}][{{ x is defined }}][{{ x|length }}][{% for i in x %}i{% endfor %}][{{ 'a' ~ x }}]"),
            "[][False][0][][a]");
  EXPECT_EQ(render("{{ m.role }}|{{ m.nope is defined }}|{{ m['nope'] is undefined }}",
                   ordered_json{{"m", {{"role", "user"}}}}),
            "user|False|True");
}

TEST(ChatTemplate, HostileTemplatesFailInsteadOfHanging) {
  EXPECT_NE(render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("nested deeper than"), std::string::npos);
  EXPECT_NE(render("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                   "{% endfor %}{% endfor %}{% endfor %}")
                .find("loop iterations"),
            std::string::npos);
  EXPECT_NE(render("{{ range(100000000) }}").find("range() longer than"), std::string::npos);
  EXPECT_NE(render("{{ range(-9223372036854775807, 9223372036854775807) }}").find("range() longer than"),
            std::string::npos);
  EXPECT_NE(render("{{ 'x' * 1000000000 }}").find("repetition too large"), std::string::npos);
  // A namespace holding itself is freed at the end of the render.
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns.me.me is defined }}"), "True");
}

TEST(ChatTemplate, RendersConcurrentlyWithTheSameResults) {
  auto tok = testing::qwen3();
  ASSERT_TRUE(tok);
  const auto fixture = testing::read_fixture("chat.json");
  std::vector<std::pair<ordered_json, std::string>> cases;
  for (const auto& c : fixture["cases"]) {
    if (c.contains("text") && !c.contains("enable_thinking") && c["add_generation_prompt"].get<bool>() &&
        !c.contains("tools")) {
      cases.emplace_back(c["messages"], c["text"].get<std::string>());
    }
  }
  ASSERT_FALSE(cases.empty());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        for (const auto& [messages, expected] : cases) {
          auto text = tok->apply_chat_template(messages, ChatOptions{});
          if (!text || *text != expected) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace kvtier::tokenizer
