#pragma once
// The command lines eval runs: every child is the same `kvtier` binary (serve, route, bench,
// monitor, make-model, report), never linked code.
#include <filesystem>
#include <string>
#include <vector>

#include "eval/experiment.h"
#include "eval/plan.h"

namespace kvtier::eval {

using Argv = std::vector<std::string>;

// Where a preset model is made: $KVTIER_MODEL_CACHE, else $XDG_CACHE_HOME/kvtier/models, else
// ~/.cache/kvtier/models; one folder per preset.
std::filesystem::path default_model_cache();

// The model argument of serve: a folder, the preset's cached folder, or (load_format dummy) the
// preset's name.
std::string model_argument(const ModelSpec& m, const std::filesystem::path& model_cache);

Argv make_model_command(const std::string& kvtier, const ModelSpec& m,
                        const std::filesystem::path& out);
Argv serve_command(const std::string& kvtier, const Experiment& e, const ModelSpec& m,
                   const std::filesystem::path& model_cache, const Arm& arm,
                   const WorkloadSpec& w, const std::string& port);
Argv route_command(const std::string& kvtier, const Experiment& e, const ModelSpec& m,
                   const std::filesystem::path& model_cache,
                   const std::vector<std::string>& engine_urls, const std::string& port);
Argv bench_command(const std::string& kvtier, const WorkloadSpec& w, const std::string& target,
                   const std::filesystem::path& outputs);
// `scrapes` are NAME=URL pairs; gpu is "auto" or "off".
Argv monitor_command(const std::string& kvtier, const std::filesystem::path& archive,
                     double interval_s, const std::vector<std::string>& scrapes,
                     const std::string& gpu);
Argv report_command(const std::string& kvtier, const std::filesystem::path& out);

// One line a shell would run: arguments quoted where needed.
std::string shell_join(const Argv& argv);

}  // namespace kvtier::eval
