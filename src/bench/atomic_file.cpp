#include "bench/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <streambuf>
#include <string>
#include <vector>

namespace kvtier::bench {
namespace {

// The temporary file being written, for a signal handler to remove. Set and cleared by the one
// thread inside write_file_atomically(); read (lock-free) by a handler on any thread.
char g_pending_path[PATH_MAX];
std::atomic<bool> g_has_pending{false};

void set_pending(const std::string& path) {
  g_has_pending.store(false, std::memory_order_release);
  if (path.size() >= sizeof(g_pending_path)) return;
  std::memcpy(g_pending_path, path.c_str(), path.size() + 1);
  g_has_pending.store(true, std::memory_order_release);
}

void clear_pending() {
  g_has_pending.store(false, std::memory_order_release);
}

// An output stream buffer over a file descriptor; a failed write() is kept in `error`.
class FdBuf : public std::streambuf {
 public:
  explicit FdBuf(int fd) : fd_(fd), buffer_(1 << 16) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    const char* p = pbase();
    while (p < pptr()) {
      const ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        return false;
      }
      p += n;
    }
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return true;
  }

  int fd_;
  std::vector<char> buffer_;
  int error_ = 0;
};

int fsync_retrying(int fd) {
  int r;
  do {
    r = ::fsync(fd);
  } while (r != 0 && errno == EINTR);
  return r;
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path,
                             const std::function<void(std::ostream&)>& write) {
  const std::filesystem::path folder =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  // Hidden, and named after the target and this process, so concurrent runs writing into one
  // folder never share a temporary file.
  const std::filesystem::path temp =
      folder / fmt::format(".{}.tmp-{}", path.filename().string(), ::getpid());
  set_pending(temp.string());
  auto fail = [&](const char* what, int err) {
    ::unlink(temp.c_str());
    clear_pending();
    return make_error(ErrorCode::kDataLoss, "{}: {} failed: {}", path.string(), what,
                      std::strerror(err));
  };
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    clear_pending();
    return make_error(ErrorCode::kNotFound, "{}: cannot create {}: {}", path.string(),
                      temp.string(), std::strerror(err));
  }
  FdBuf buf(fd);
  {
    std::ostream out(&buf);
    write(out);
    out.flush();
    if (!out || buf.error() != 0) {
      const int err = buf.error() != 0 ? buf.error() : EIO;
      ::close(fd);
      return fail("write (disk full?)", err);
    }
  }
  if (fsync_retrying(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("fsync", err);
  }
  if (::close(fd) != 0) return fail("close", errno);
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail("rename", errno);
  clear_pending();
  // The rename itself lasts across a power cut only once the folder is synced; best effort.
  if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    fsync_retrying(dir);
    ::close(dir);
  }
  return Status::ok();
}

void remove_pending_temp_file() noexcept {
  if (g_has_pending.load(std::memory_order_acquire)) ::unlink(g_pending_path);
}

}  // namespace kvtier::bench
