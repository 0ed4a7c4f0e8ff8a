#pragma once
// vLLM's bad_words: words a request never wants to see, turned into the token-id sequences the
// engine's sampler bans (SamplingParams::bad_words_token_ids). Done once per request in the
// worker pool, where the tokenizer is at hand; the engine sees only ids.
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/text_codec.h"

namespace kvtier::server {

// As vLLM's SamplingParams.update_from_tokenizer: each word, its leading whitespace stripped, is
// encoded as it stands and again after one space (a word inside the text, for tokenizers that fold
// the space into the word). The spaced form is kept only when its first id differs from the bare
// form's and both have as many ids. A word that encodes to nothing, or to an id outside
// [0, vocab_size), is an error naming bad_words[i].
Expected<std::vector<std::vector<int32_t>>> bad_words_token_ids(
    const std::vector<std::string>& words, const TextCodec& codec, int32_t vocab_size);

}  // namespace kvtier::server
