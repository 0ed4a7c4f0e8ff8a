#pragma once
// The line protocols of `kvtier tokenize` and `kvtier detokenize`, over streams so they can be
// tested without the binary. One JSON object in, one out, per line; a bad line gets an
// {"error": ...} line (and a message on `err`) naming its line number, and the rest go on.
#include <cstddef>
#include <istream>
#include <ostream>

#include "tokenizer/tokenizer.h"

namespace kvtier::tokenizer {

// {"text": "..."} -> {"ids": [...]};
// {"messages": [...], "add_generation_prompt": true, "enable_thinking": false, "tools": [...],
//  "chat_template_kwargs": {...}} -> {"ids": [...], "text": "<rendered template>"}.
// Returns the number of bad lines.
size_t tokenize_lines(const Tokenizer& tokenizer, std::istream& in, std::ostream& out, std::ostream& err);

// {"ids": [...]} -> {"text": "..."}. Returns the number of bad lines.
size_t detokenize_lines(const Tokenizer& tokenizer, bool skip_special_tokens, std::istream& in, std::ostream& out,
                        std::ostream& err);

}  // namespace kvtier::tokenizer
