#pragma once
// argparse's long-option conventions, which vLLM's command lines rely on (the seed writes
// `--max-num-seq 1024` for --max-num-seqs): an unambiguous prefix of a long option stands for
// it, and snake_case spellings (--max_num_seqs) equal kebab-case ones. Applied before CLI11
// parses, over the command's known long options.
#include <string>
#include <vector>

#include "common/status.h"

namespace kvtier::server {

// Rewrites each "--name" or "--name=value" whose name is not a known option but a prefix of
// exactly one to that option's full name. An ambiguous prefix is an error listing the
// candidates; unknown names are left for the parser to report. Nothing after "--" changes.
// `known` holds full names with their dashes ("--max-num-seqs").
Expected<std::vector<std::string>> expand_option_prefixes(const std::vector<std::string>& args,
                                                          const std::vector<std::string>& known);

}  // namespace kvtier::server
