#pragma once
// `kvtier bench` flags, named as `guidellm benchmark run` names them (with GuideLLM's legacy
// aliases), so a GuideLLM command line runs with only the program name changed.
#include <CLI/CLI.hpp>

#include "bench/bench_config.h"

namespace kvtier::bench {

void add_bench_options(CLI::App& app, RawBenchArgs& raw);

}  // namespace kvtier::bench
