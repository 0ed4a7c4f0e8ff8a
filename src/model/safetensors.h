#pragma once
// Reader of the safetensors format: an 8-byte little-endian header length, a JSON header
// mapping tensor names to {dtype, shape, data_offsets}, then the tensors' bytes. The file is
// memory-mapped; tensors are views into the mapping. Every header is checked before use, so a
// truncated or corrupt file is an error naming the file and the tensor, never a crash.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/config.h"
#include "model/mapped_file.h"

namespace kvtier::model {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  size_t file_offset = 0;  // of the first byte, from the start of the file
  size_t nbytes = 0;
  int64_t numel() const;
};

// "BF16", "F16", "F32" as safetensors headers spell them.
const char* safetensors_dtype_name(DType t);

// Parses and checks the header of a whole file's bytes; `file_name` names it in errors.
Expected<std::vector<TensorInfo>> parse_safetensors_header(std::span<const std::byte> file,
                                                           const std::string& file_name);

class SafetensorsFile {
 public:
  static Expected<SafetensorsFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;
  const std::byte* data(const TensorInfo& t) const { return file_.bytes().data() + t.file_offset; }

 private:
  MappedFile file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace kvtier::model
