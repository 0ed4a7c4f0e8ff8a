#pragma once
// Writes safetensors files tensor by tensor, so a checkpoint larger than memory streams to disk:
// the header is laid out first from the declared names, dtypes and shapes, then each tensor's
// bytes are appended in declaration order.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/config.h"

namespace kvtier::model {

struct TensorDecl {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  size_t nbytes() const;
};

class SafetensorsWriter {
 public:
  // Creates `path` and writes its header; `metadata` goes under "__metadata__".
  static Expected<SafetensorsWriter> create(const std::filesystem::path& path,
                                            std::vector<TensorDecl> tensors,
                                            const std::map<std::string, std::string>& metadata = {
                                                {"format", "pt"}});
  // Appends bytes of the tensors, in declaration order; chunks may split or span tensors.
  Status write(std::span<const std::byte> bytes);
  // Checks that every declared byte was written and closes the file.
  Status finish();

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  size_t expected_bytes_ = 0;
  size_t written_bytes_ = 0;
};

// Convenience for small files: writes fp32 values, converted to each tensor's dtype.
struct TensorData {
  TensorDecl decl;
  std::vector<float> values;
};
Status write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors);

}  // namespace kvtier::model
