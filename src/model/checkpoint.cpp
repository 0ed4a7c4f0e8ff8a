#include "model/checkpoint.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace kvtier::model {
namespace {

using nlohmann::json;

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
// Published checkpoints have at most a few hundred shards; each shard is mapped and parsed, so
// an index naming thousands is refused before any is opened.
constexpr size_t kMaxShards = 10'000;
constexpr size_t kMaxIndexEntries = 10'000'000;

// weight_map of an index, as shard file -> tensor names.
Expected<std::map<std::string, std::set<std::string>>> read_index(
    const std::filesystem::path& path) {
  KVTIER_RETURN_IF_ERROR(require_regular_file(path));
  std::ifstream in(path);
  if (!in) return not_found("{}: cannot open", path.string());
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return data_loss("{}: not valid JSON", path.string());
  auto wm = j.is_object() ? j.find("weight_map") : j.end();
  if (wm == j.end() || !wm->is_object())
    return data_loss("{}: missing object 'weight_map'", path.string());
  if (wm->size() > kMaxIndexEntries)
    return data_loss("{}: weight_map has {} entries, more than the {} allowed", path.string(),
                     wm->size(), kMaxIndexEntries);
  std::map<std::string, std::set<std::string>> shards;
  for (const auto& [tensor, file] : wm->items()) {
    if (!file.is_string())
      return data_loss("{}: weight_map entry '{}' must name a file, got {}", path.string(), tensor,
                       file.dump());
    std::string name = file.get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      return data_loss("{}: weight_map entry '{}' names '{}', not a file of the folder",
                       path.string(), tensor, name);
    shards[name].insert(tensor);
  }
  if (shards.empty()) return data_loss("{}: weight_map is empty", path.string());
  if (shards.size() > kMaxShards)
    return data_loss("{}: weight_map names {} shards, more than the {} allowed", path.string(),
                     shards.size(), kMaxShards);
  return shards;
}

}  // namespace

Status check_model_folder_files(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* name : {"config.json", "generation_config.json", kSingleFile, kIndexFile,
                           "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "chat_template.jinja", "chat_template.json"}) {
    const fs::path path = dir / name;
    // symlink_status: a dangling link is left to the reader, which names it.
    if (!fs::exists(fs::symlink_status(path, ec))) continue;
    if (Status s = require_regular_file(path); !s.is_ok() && s.code() != ErrorCode::kNotFound)
      return s;
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".safetensors") continue;
    if (Status s = require_regular_file(entry.path());
        !s.is_ok() && s.code() != ErrorCode::kNotFound)
      return s;
  }
  return Status::ok();
}

Status Checkpoint::add_file(std::unique_ptr<SafetensorsFile> file) {
  for (const auto& info : file->tensors()) {
    TensorView view{&info, file->data(info), file.get()};
    auto [it, inserted] = tensors_.emplace(info.name, view);
    if (!inserted)
      return data_loss("tensor '{}' appears in both {} and {}", info.name,
                       it->second.file->path().string(), file->path().string());
  }
  files_.push_back(std::move(file));
  return Status::ok();
}

Expected<Checkpoint> Checkpoint::open(const std::filesystem::path& model_dir) {
  Checkpoint ckpt;
  const auto index_path = model_dir / kIndexFile;
  std::error_code ec;
  if (std::filesystem::exists(index_path, ec)) {
    KVTIER_ASSIGN_OR_RETURN(auto shards, read_index(index_path));
    for (const auto& [file_name, names] : shards) {
      auto opened = SafetensorsFile::open(model_dir / file_name);
      if (!opened)
        return Status(
            opened.error().code(),
            opened.error().message() + fmt::format(" (listed in {})", index_path.string()));
      auto file = std::make_unique<SafetensorsFile>(std::move(*opened));
      for (const auto& name : names)
        if (!file->find(name))
          return data_loss("{}: tensor '{}' is listed in {} but the file does not hold it",
                           file->path().string(), name, index_path.string());
      for (const auto& info : file->tensors())
        if (!names.count(info.name))
          return data_loss("{}: tensor '{}' is not listed for this file in {}",
                           file->path().string(), info.name, index_path.string());
      KVTIER_RETURN_IF_ERROR(ckpt.add_file(std::move(file)));
    }
    return ckpt;
  }
  const auto single = model_dir / kSingleFile;
  if (!std::filesystem::exists(single, ec))
    return not_found("{}: no {} or {} (is this a model folder?)", model_dir.string(), kSingleFile,
                     kIndexFile);
  KVTIER_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(single));
  KVTIER_RETURN_IF_ERROR(ckpt.add_file(std::make_unique<SafetensorsFile>(std::move(file))));
  return ckpt;
}

const TensorView* Checkpoint::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

size_t Checkpoint::total_bytes() const {
  size_t n = 0;
  for (const auto& [name, t] : tensors_) n += t.nbytes();
  return n;
}

}  // namespace kvtier::model
