#pragma once
// Plain English-like filler (random words in sentences), the raw material synthetic prompts are
// cut from. Deterministic for a given Random state.
#include <cstddef>
#include <string>

#include "bench/random.h"

namespace kvtier::bench {

// Appends sentences to `out` until it holds at least `min_chars` more characters.
void append_filler_text(Random& rng, size_t min_chars, std::string& out);

}  // namespace kvtier::bench
