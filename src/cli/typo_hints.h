#pragma once
// "did you mean --max-seconds?" for a mistyped flag or subcommand: the dispatcher's hint after a
// command-line error, naming the closest known name by edit distance when it is close enough
// to be a typo (not a different word).
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvtier::cli {

// Edit distance counting insertions, deletions, substitutions and swaps of two adjacent
// characters (a transposition is one typo, not two).
size_t edit_distance(std::string_view a, std::string_view b);

// The names of `candidates` closest to `word` if within max(1, |word| / 4) edits (at most 3);
// several when tied; empty when none is that close.
std::vector<std::string> closest_names(std::string_view word,
                                       const std::vector<std::string>& candidates);

// Hints for the words of argv that `app` does not know: "--max-secnds: did you mean
// --max-seconds?" for flags of the chosen subcommand (and the top level), and "benhc: did you
// mean bench?" for a mistyped subcommand. One line per unknown word that has a close match.
std::vector<std::string> typo_hints(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace kvtier::cli
