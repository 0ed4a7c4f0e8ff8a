// llm-d's EndpointPickerConfig YAML as `kvtier route --config` reads it: YAML to JSON (YAML 1.2
// core schema), then the document's shape (parse_picker_config). Invariants: YAML errors and
// bad shapes are errors naming what is wrong, never a crash or an exception; an accepted config
// names every plugin, every plugin has a type, and every profile refers to known plugins.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "router/picker_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvtier::router;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parse_picker_config(text, "fuzz.yaml");
  if (!config) {
    FUZZ_CHECK(!config.error().message().empty(), "an error names what is wrong");
    return 0;
  }
  for (const PluginSpec& p : config->plugins) {
    FUZZ_CHECK(!p.name.empty() && !p.type.empty(), "a plugin has a name and a type");
    FUZZ_CHECK(p.parameters.is_null() || p.parameters.is_object(), "parameters are an object");
  }
  for (const SchedulingProfileSpec& profile : config->profiles) {
    for (const ProfilePluginRef& ref : profile.plugins)
      FUZZ_CHECK(config->find_plugin(ref.plugin_ref) != nullptr, "a profile names known plugins");
  }
  return 0;
}
