#pragma once
// A JSON document as block-style YAML (GuideLLM's benchmarks.yaml): mappings as `key: value`,
// lists as `- item`, strings double-quoted with JSON's escapes (valid YAML), so any YAML
// loader reads back the same tree.
#include <nlohmann/json.hpp>
#include <ostream>

namespace kvtier::bench {

void write_yaml(const nlohmann::json& document, std::ostream& out);

}  // namespace kvtier::bench
