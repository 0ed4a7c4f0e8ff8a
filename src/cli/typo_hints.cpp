#include "cli/typo_hints.h"

#include <fmt/format.h>

#include <algorithm>

namespace kvtier::cli {
namespace {

// Long option names of `app` ("max-seconds"), positional arguments left out.
std::vector<std::string> long_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& n : opt->get_lnames()) names.push_back(n);
  }
  return names;
}

std::string join_flags(const std::vector<std::string>& names, std::string_view prefix) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(prefix) + names[i];
  }
  return out;
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  // d[i][j]: distance between the first i characters of a and the first j of b.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);  // two letters swapped
      }
    }
  }
  return d[a.size()][b.size()];
}

std::vector<std::string> closest_names(std::string_view word,
                                       const std::vector<std::string>& candidates) {
  const size_t limit = std::min<size_t>(3, std::max<size_t>(1, word.size() / 4));
  size_t best = limit + 1;
  std::vector<std::string> out;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d == 0 || d > limit) continue;
    if (d < best) {
      best = d;
      out.clear();
    }
    if (d == best && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

std::vector<std::string> typo_hints(const CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> subcommands;
  const auto all = app.get_subcommands([](const CLI::App*) { return true; });
  for (const CLI::App* sub : all) subcommands.push_back(sub->get_name());
  // The subcommand is the first word that names one; flags before it are the top level's.
  const CLI::App* chosen = nullptr;
  size_t first_word = args.size();
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].starts_with("-")) continue;
    if (first_word == args.size()) first_word = i;
    for (const CLI::App* sub : all) {
      if (sub->get_name() == args[i]) chosen = sub;
    }
    if (chosen) break;
  }
  std::vector<std::string> hints;
  if (!chosen) {
    if (first_word < args.size()) {
      auto names = closest_names(args[first_word], subcommands);
      if (!names.empty()) {
        hints.push_back(
            fmt::format("{}: did you mean {}?", args[first_word], join_flags(names, "")));
      }
    }
    return hints;
  }
  // A command that passes its arguments on (kvtier serve) checks them itself.
  if (chosen->get_prefix_command()) return hints;
  auto known = long_names(*chosen);
  const auto top = long_names(app);
  known.insert(known.end(), top.begin(), top.end());
  for (const auto& arg : args) {
    if (!arg.starts_with("--") || arg == "--") continue;
    const std::string name =
        arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    auto names = closest_names(name, known);
    if (!names.empty()) {
      hints.push_back(fmt::format("--{}: did you mean {}?", name, join_flags(names, "--")));
    }
  }
  return hints;
}

}  // namespace kvtier::cli
