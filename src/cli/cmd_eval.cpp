// `kvtier eval EXPERIMENT.yaml`: every cell of an experiment (models x configs x workloads x
// repeats) run by serve/route/bench/monitor subprocesses, then `kvtier report` on the folder.
#include <memory>

#include "cli/command.h"
#include "eval/eval_run.h"

namespace kvtier::cli {
namespace {

std::function<int()> setup_eval(CLI::App& app) {
  auto o = std::make_shared<eval::EvalOptions>();
  app.add_option("experiment", o->experiment, "Experiment file (YAML; docs/eval.md)")->required();
  app.add_option("--out", o->out,
                 "Output folder (default: results/<experiment name>-<UTC timestamp>)");
  app.add_flag("--resume", o->resume,
               "Finish the eval in --out: cells whose cell.json says complete are skipped");
  app.add_flag("--dry-run", o->dry_run,
               "Print every cell in order with its commands and the estimated duration");
  app.add_option("--kvtier", o->kvtier,
                 "The kvtier binary the cells run (default: this one)");
  app.add_option("--model-cache", o->model_cache,
                 "Where preset models are made (default: $KVTIER_MODEL_CACHE, else "
                 "~/.cache/kvtier/models)");
  app.add_option("--health-timeout", o->health_timeout_s,
                 "Seconds an engine may take to answer /health")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  return [o]() -> int { return eval::run_eval(*o); };
}

}  // namespace

KVTIER_COMMAND("eval", "Run an experiment file: every cell, resumable, then the report",
               setup_eval);

}  // namespace kvtier::cli
