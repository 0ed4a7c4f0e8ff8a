#include "server/arg_prefix.h"

#include <algorithm>

namespace kvtier::server {

Expected<std::vector<std::string>> expand_option_prefixes(const std::vector<std::string>& args,
                                                          const std::vector<std::string>& known) {
  std::vector<std::string> out;
  out.reserve(args.size());
  bool options_ended = false;
  for (const std::string& arg : args) {
    if (options_ended || arg.size() <= 2 || !arg.starts_with("--")) {
      if (arg == "--") options_ended = true;
      out.push_back(arg);
      continue;
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string rest = eq == std::string::npos ? std::string() : arg.substr(eq);
    std::replace(name.begin() + 2, name.end(), '_', '-');
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      out.push_back(name + rest);
      continue;
    }
    std::vector<std::string> matches;
    for (const std::string& option : known) {
      if (option.starts_with(name)) matches.push_back(option);
    }
    if (matches.size() == 1) {
      out.push_back(matches.front() + rest);
    } else if (matches.size() > 1) {
      std::string list;
      for (const auto& m : matches) list += (list.empty() ? "" : ", ") + m;
      return invalid_argument("ambiguous option: {} could match {}", name, list);
    } else {
      out.push_back(arg);
    }
  }
  return out;
}

}  // namespace kvtier::server
