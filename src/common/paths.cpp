#include "common/paths.h"

#include <cstdlib>

#ifndef KVTIER_SOURCE_ROOT
#define KVTIER_SOURCE_ROOT "."
#endif

namespace kvtier {

std::filesystem::path project_root() {
  if (const char* home = std::getenv("KVTIER_HOME"); home && *home) return home;
  return KVTIER_SOURCE_ROOT;
}

std::filesystem::path default_tokenizer_dir() {
  return project_root() / "third_party_data" / "qwen3-tokenizer";
}

}  // namespace kvtier
