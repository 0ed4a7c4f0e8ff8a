#pragma once
// vLLM's dotted form of its JSON options: `--kv-transfer-config.kv_connector X` (or
// `--kv-transfer-config.kv_connector=X`) sets one key of --kv-transfer-config's object. Keys
// nest (`--kv-transfer-config.kv_connector_extra_config.num_cpu_blocks 100`), a value is parsed
// as JSON where it can be (true, 100, {"a":1}) and kept as a string where not, and a trailing
// `+` makes a comma-separated list (`--x.keys+ a,b`), as vLLM's FlexibleArgumentParser does.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kvtier::server {

struct DottedArgs {
  std::vector<std::string> rest;                  // every other argument, in order
  std::map<std::string, nlohmann::json> objects;  // "--kv-transfer-config" -> {"kv_connector": X}
};

// Takes the dotted arguments out of `args`. The option before the first dot may be spelled in
// snake_case; it must be one of `json_options` ("--kv-transfer-config"), else the error names it
// and lists them. Nothing after "--" is looked at.
Expected<DottedArgs> extract_dotted_args(const std::vector<std::string>& args,
                                         const std::set<std::string>& json_options);

// `base` (a JSON object's text, or empty) with `keys` merged over it, key by key at every depth.
// The error names `option` when `base` is not a JSON object.
Expected<std::string> merge_json_option(const std::string& option, const std::string& base,
                                        const nlohmann::json& keys);

}  // namespace kvtier::server
