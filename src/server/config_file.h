#pragma once
// `kvtier serve --config FILE.yaml`, as vLLM's: a YAML map of option names (kebab- or
// snake_case, without dashes) to values, turned into the command-line arguments they stand for.
// `port: 8001` -> --port 8001; `enable-prefix-caching: false` -> --no-enable-prefix-caching;
// `served-model-name: [a, b]` -> --served-model-name a b; a map under a JSON option becomes its
// JSON (`kv-transfer-config: {kv_connector: OffloadingConnector}`). Flags given on the command
// line win over the file's (the caller drops the file's arguments for those options).
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace kvtier::server {

// What the file reader needs to know of one long option.
struct ConfigOption {
  enum class Kind { kFlag, kValue, kList, kJson };
  std::string name;  // "--max-num-seqs"
  Kind kind = Kind::kValue;
  std::string negation;   // a flag's "--no-..." form, or empty
  std::string canonical;  // the option this name sets ("--no-x" and "--x" share one); empty: name
};

// One key of the file as arguments: the option's spelling first, then its values.
struct ConfigArgument {
  std::string option;  // canonical name
  std::vector<std::string> tokens;
};

// The arguments the file stands for, one per key. Errors name the file and the key: an unknown
// option, a value of the wrong shape, a file that is not a YAML map or not .yaml/.yml.
Expected<std::vector<ConfigArgument>> read_config_file(const std::filesystem::path& path,
                                                       const std::vector<ConfigOption>& options);

struct ConfiguredArgs {
  std::vector<std::string> args;       // the file's arguments, then the command line's
  std::vector<std::string> from_file;  // canonical options only the file set
};

// Takes `--config FILE` (or --config=FILE) out of `args` (long options already spelled out in
// full) and puts the file's arguments before the rest, leaving out those for options the
// command line sets too. Without --config, `args` unchanged. Nothing after "--" is looked at.
Expected<ConfiguredArgs> apply_config_file(const std::vector<std::string>& args,
                                           const std::vector<ConfigOption>& options);

}  // namespace kvtier::server
