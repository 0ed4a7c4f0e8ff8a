#pragma once
// The `Split` pre-tokenizer with a regex and the Isolated behaviour: every match is a piece and
// so is every gap between matches. Runs on PCRE2 (JIT, UTF, Unicode properties). Immutable after
// compile(): one instance serves all threads.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kvtier::tokenizer {

class RegexSplitter {
 public:
  // `pattern` uses the Oniguruma syntax Hugging Face runs; `where` names it in error messages.
  static Expected<std::unique_ptr<RegexSplitter>> compile(std::string_view pattern, std::string_view where);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Appends the pieces of `text` (valid UTF-8) to `out`, in order, none empty. Fails only when
  // PCRE2 gives up (a resource limit), naming the offset.
  Status split(std::string_view text, std::vector<std::string_view>& out) const;

  // The pattern handed to PCRE2: Oniguruma's \s is Unicode White_Space, PCRE2's also takes
  // U+180E, so \s is spelled out.
  static std::string translate(std::string_view onig_pattern);

 private:
  RegexSplitter() = default;
  struct Code;
  std::unique_ptr<Code> code_;
};

}  // namespace kvtier::tokenizer
