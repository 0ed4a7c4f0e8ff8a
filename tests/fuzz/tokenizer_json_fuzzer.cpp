// tokenizer.json through the streaming reader (what Tokenizer::load reads), then a tokenizer
// built from an accepted spec encodes a fixed text and a slice of the input. Invariants: errors
// are errors (nothing thrown, nothing crashes); every id encode returns decodes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_config.h"
#include "tokenizer/tokenizer_json.h"

namespace {

void encode_and_decode(const kvtier::tokenizer::Tokenizer& tok, std::string_view text) {
  auto ids = tok.encode(text);
  if (!ids) return;  // invalid UTF-8, for one
  for (int32_t id : *ids) FUZZ_CHECK(id >= 0 && id < tok.vocab_size(), "ids inside the vocabulary");
  (void)tok.decode(*ids, /*skip_special_tokens=*/false);
  (void)tok.decode(*ids, /*skip_special_tokens=*/true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvtier::tokenizer;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = parse_tokenizer_json_text(text, "fuzz/tokenizer.json");
  if (!spec) {
    FUZZ_CHECK(!spec.error().message().empty(), "an error names what is wrong");
    return 0;
  }
  auto tok = Tokenizer::build(std::move(*spec), TokenizerConfig{});
  if (!tok) return 0;
  encode_and_decode(**tok, "Hello world! 123 <|im_start|>user\n  café\t\xe4\xbd\xa0\xe5\xa5\xbd");
  encode_and_decode(**tok, text.substr(0, 256));
  return 0;
}
