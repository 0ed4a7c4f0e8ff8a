#pragma once
// Subcommands of the `kvtier` binary. Each lives in its own cmd_*.cpp and registers itself with
// KVTIER_COMMAND; main() builds the CLI11 app from the registry.
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kvtier::cli {

// Adds the command's options to `app` and returns the action to run once parsing succeeded.
// The action returns the process exit code.
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct Command {
  std::string name;
  std::string description;
  CommandSetup setup;
};

std::vector<Command>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string description, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace kvtier::cli

#define KVTIER_COMMAND(name, description, setup_fn) \
  static ::kvtier::cli::CommandRegistrar kvtier_command_registrar_(name, description, setup_fn)
