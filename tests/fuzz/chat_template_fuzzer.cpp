// The Jinja interpreter behind chat templates: the input is the template text, optionally
// followed by a NUL byte and the messages as JSON. Parse, then render as transformers'
// apply_chat_template would. Invariants: a template that fails, fails with an error naming it;
// nothing escapes as an exception; the interpreter's limits (loop iterations, output size, call
// depth) keep every render bounded. The limits are lowered here (a million loop iterations take
// tens of seconds under the sanitizers) but are the same code that bounds real renders.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::ordered_json;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view source = input.substr(0, input.find('\0'));
  ordered_json messages = ordered_json::array(
      {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi"}},
       {{"role", "assistant"}, {"content", "<think>t</think>Hello"}},
       {{"role", "user"}, {"content", "Bye"}}});
  if (source.size() < input.size()) {
    ordered_json given = ordered_json::parse(input.substr(source.size() + 1), nullptr, false);
    if (!given.is_discarded()) messages = std::move(given);
  }
  auto tmpl = kvtier::tokenizer::ChatTemplate::parse(source, "fuzz template");
  if (!tmpl) {
    FUZZ_CHECK(!tmpl.error().message().empty(), "a parse error names what is wrong");
    return 0;
  }
  ordered_json variables = {{"messages", messages},
                            {"add_generation_prompt", true},
                            {"bos_token", "<s>"},
                            {"eos_token", "<|im_end|>"},
                            {"tools", nullptr}};
  kvtier::tokenizer::jinja::RenderLimits limits;
  limits.max_iterations = 20'000;
  limits.max_output_bytes = size_t(1) << 20;
  limits.max_produced_bytes = size_t(16) << 20;
  auto text = (*tmpl)->render(variables, limits);
  if (text) FUZZ_CHECK(text->size() <= limits.max_output_bytes, "output within its limit");
  if (!text) FUZZ_CHECK(!text.error().message().empty(), "a render error names what is wrong");
  return 0;
}
