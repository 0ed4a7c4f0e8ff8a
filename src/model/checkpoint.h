#pragma once
// The weights of a Hugging Face model folder: model.safetensors, or the shards listed in
// model.safetensors.index.json (weight_map). Files stay memory-mapped for the Checkpoint's
// lifetime; each tensor is a view (name, dtype, shape, bytes) that a backend converts or uploads.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/config.h"
#include "model/safetensors.h"

namespace kvtier::model {

struct TensorView {
  const TensorInfo* info = nullptr;
  const std::byte* data = nullptr;  // info->nbytes bytes, little-endian, not necessarily aligned
  const SafetensorsFile* file = nullptr;

  const std::string& name() const { return info->name; }
  DType dtype() const { return info->dtype; }
  const std::vector<int64_t>& shape() const { return info->shape; }
  size_t nbytes() const { return info->nbytes; }
  int64_t numel() const { return info->numel(); }
};

// Every model, generation and tokenizer file present in DIR (config.json,
// generation_config.json, model.safetensors, its index and shards, tokenizer.json,
// tokenizer_config.json) must be a regular file: checked before any is opened, so that a FIFO
// is an error at start instead of a reader waiting forever.
Status check_model_folder_files(const std::filesystem::path& dir);

class Checkpoint {
 public:
  // Opens DIR/model.safetensors.index.json when present, else DIR/model.safetensors.
  static Expected<Checkpoint> open(const std::filesystem::path& model_dir);

  const TensorView* find(std::string_view name) const;
  // Sorted by name.
  const std::map<std::string, TensorView, std::less<>>& tensors() const { return tensors_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  size_t total_bytes() const;

 private:
  Status add_file(std::unique_ptr<SafetensorsFile> file);

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView, std::less<>> tensors_;
};

}  // namespace kvtier::model
