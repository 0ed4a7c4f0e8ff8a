// `kvtier serve MODEL_DIR [vLLM flags]`. The flags are parsed by the server module (argparse-style
// prefixes such as --max-num-seq must expand before CLI11 sees them), so this command passes its
// arguments through untouched.
#include "cli/command.h"
#include "server/serve.h"

namespace {

std::function<int()> setup_serve(CLI::App& app) {
  app.prefix_command();
  app.set_help_flag();
  app.footer("Run `kvtier serve --help` for the flags (vLLM's `vllm serve` flags).");
  return [&app] { return kvtier::server::run_serve(app.remaining()); };
}

}  // namespace

KVTIER_COMMAND("serve", "OpenAI-compatible server (vLLM's `vllm serve` flags)", setup_serve);
