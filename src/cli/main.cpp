#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <new>
#include <string>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/typo_hints.h"

namespace kvtier::cli {

std::vector<Command>& command_registry() {
  static std::vector<Command> registry;
  return registry;
}

}  // namespace kvtier::cli

int main(int argc, char** argv) {
  using namespace kvtier::cli;
  CLI::App app{"kvtier: an LLM serving stack with a tiered (GPU, CPU) KV cache"};
  app.require_subcommand(1);
  // The backends this build has: scripts (make demo) pick the device from them.
#ifdef KVTIER_HAVE_CUDA
  app.set_version_flag("--version", "kvtier 0.1.0 (backends: cpu cuda)");
#else
  app.set_version_flag("--version", "kvtier 0.1.0 (backends: cpu)");
#endif
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();

  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> actions;
  for (auto& command : registry) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    actions.emplace_back(sub, command.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with status 0.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    app.exit(e);
    std::cerr.flush();
    for (const auto& hint : typo_hints(app, std::vector<std::string>(argv + 1, argv + argc))) {
      fmt::print(stderr, "{}\n", hint);
    }
    // Every usage error (unknown flag, missing or malformed value) exits with 2, as the
    // commands' own argument checks do (docs/bench.md).
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("kvtier"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    // The last edge for an allocation sized from an input: commands check sizes before they
    // allocate and name the input themselves; what gets here still must not abort.
    try {
      return action();
    } catch (const std::bad_alloc&) {
      std::string inputs;
      for (const auto& arg : sub->remaining(true)) inputs += " " + arg;
      for (const auto* opt : sub->get_options())
        for (const auto& v : opt->results()) inputs += " " + v;
      fmt::print(stderr,
                 "error: kvtier {}: out of memory: an input needs more memory than this machine "
                 "has (inputs:{})\n",
                 sub->get_name(), inputs);
      return 1;
    }
  }
  return 2;
}
