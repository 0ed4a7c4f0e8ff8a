#pragma once
// Regular files only: a FIFO, socket or device where a model, config or tokenizer file should be
// would block its reader forever or never end, so it is an error naming the path (not_found when
// absent).
#include <filesystem>

#include "common/status.h"

namespace kvtier {

Status require_regular_file(const std::filesystem::path& path);

// "a FIFO", "a directory", ...: what a stat() mode that is not a regular file names.
const char* file_kind(unsigned mode);

}  // namespace kvtier
