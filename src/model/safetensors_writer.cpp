#include "model/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include "model/dtype_convert.h"
#include "model/safetensors.h"

namespace kvtier::model {

size_t TensorDecl::nbytes() const {
  size_t n = size_t(dtype_size(dtype));
  for (int64_t d : shape) n *= size_t(d);
  return n;
}

Expected<SafetensorsWriter> SafetensorsWriter::create(
    const std::filesystem::path& path, std::vector<TensorDecl> tensors,
    const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& t : tensors) {
    if (header.contains(t.name))
      return invalid_argument("{}: tensor '{}' declared twice", path.string(), t.name);
    header[t.name] = {{"dtype", safetensors_dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  // Padding the header with spaces keeps the data 8-byte aligned, as the format recommends.
  text.append((8 - text.size() % 8) % 8, ' ');
  SafetensorsWriter w;
  w.path_ = path;
  w.expected_bytes_ = offset;
  w.out_.open(path, std::ios::binary | std::ios::trunc);
  if (!w.out_) return make_error(ErrorCode::kUnavailable, "{}: cannot create file", path.string());
  uint64_t len = text.size();
  char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = char((len >> (8 * i)) & 0xff);
  w.out_.write(len_bytes, 8);
  w.out_.write(text.data(), std::streamsize(text.size()));
  if (!w.out_) return make_error(ErrorCode::kUnavailable, "{}: write failed", path.string());
  return w;
}

Status SafetensorsWriter::write(std::span<const std::byte> bytes) {
  if (written_bytes_ + bytes.size() > expected_bytes_)
    return internal_error("{}: {} bytes written beyond the {} declared", path_.string(),
                          written_bytes_ + bytes.size() - expected_bytes_, expected_bytes_);
  out_.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out_)
    return make_error(ErrorCode::kUnavailable, "{}: write failed (disk full?)", path_.string());
  written_bytes_ += bytes.size();
  return Status::ok();
}

Status SafetensorsWriter::finish() {
  if (written_bytes_ != expected_bytes_)
    return internal_error("{}: {} bytes written, {} declared", path_.string(), written_bytes_,
                          expected_bytes_);
  out_.close();
  if (!out_) return make_error(ErrorCode::kUnavailable, "{}: close failed", path_.string());
  return Status::ok();
}

Status write_safetensors(const std::filesystem::path& path,
                         const std::vector<TensorData>& tensors) {
  std::vector<TensorDecl> decls;
  for (const auto& t : tensors) {
    if (t.values.size() * size_t(dtype_size(t.decl.dtype)) != t.decl.nbytes())
      return invalid_argument("tensor '{}': {} values do not fill its shape", t.decl.name,
                              t.values.size());
    decls.push_back(t.decl);
  }
  KVTIER_ASSIGN_OR_RETURN(auto writer, SafetensorsWriter::create(path, decls));
  std::vector<std::byte> buf;
  for (const auto& t : tensors) {
    buf.resize(t.decl.nbytes());
    convert_from_float(t.decl.dtype, t.values.data(), int64_t(t.values.size()), buf.data());
    KVTIER_RETURN_IF_ERROR(writer.write(buf));
  }
  return writer.finish();
}

}  // namespace kvtier::model
