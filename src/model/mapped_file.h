#pragma once
// A read-only memory mapping of a whole file; weights are read straight from the page cache.
#include <cstddef>
#include <filesystem>
#include <span>

#include "common/regular_file.h"
#include "common/status.h"

namespace kvtier::model {

using ::kvtier::require_regular_file;

class MappedFile {
 public:
  static Expected<MappedFile> open(const std::filesystem::path& path);
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void reset();
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace kvtier::model
