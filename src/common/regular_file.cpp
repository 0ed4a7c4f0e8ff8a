#include "common/regular_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace kvtier {

const char* file_kind(unsigned mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a plain file";
}

Status require_regular_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return not_found("{}: no such file", path.string());
    return make_error(ErrorCode::kUnavailable, "{}: cannot read: {}", path.string(),
                      std::strerror(err));
  }
  if (!S_ISREG(st.st_mode))
    return invalid_argument("{}: not a regular file ({})", path.string(), file_kind(st.st_mode));
  return Status::ok();
}

}  // namespace kvtier
