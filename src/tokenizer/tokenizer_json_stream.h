#pragma once
// Streams tokenizer.json with a SAX parser: model.vocab and model.merges (300k entries for Qwen3,
// nearly all of the file) go straight into a BpeConfig, the rest into a small JSON tree. Four
// times faster than building the whole tree, which every process that loads a tokenizer pays.
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tokenizer/bpe_model.h"

namespace kvtier::tokenizer {

struct StreamedTokenizerJson {
  nlohmann::json root;  // model.vocab and model.merges are left empty here
  BpeConfig bpe;        // vocab and merges, filled
  bool has_vocab = false;
  bool has_merges = false;
};

Expected<StreamedTokenizerJson> stream_tokenizer_json(std::string_view text, std::string_view where);

}  // namespace kvtier::tokenizer
