#pragma once
// Whole-file replacement that a reader or a crash never sees half done: the content goes to a
// temporary file in the same folder, is flushed to disk (fsync), and is renamed over the target.
// `kvtier bench` rewrites its outputs this way after every benchmark, so a file on disk always
// holds the last complete state, whenever the process is stopped or killed.
#include <filesystem>
#include <functional>
#include <ostream>

#include "common/status.h"

namespace kvtier::bench {

// Writes `path` with what `write` streams into it. Errors name the file; on error the target
// is left as it was and the temporary file is removed. One call at a time per process (the
// temporary file's name is kept for remove_pending_temp_file()).
Status write_file_atomically(const std::filesystem::path& path,
                             const std::function<void(std::ostream&)>& write);

// Removes the temporary file of a write_file_atomically() call in progress, if any.
// Async-signal-safe: for a signal handler about to _exit() in the middle of a write.
void remove_pending_temp_file() noexcept;

}  // namespace kvtier::bench
