#include "model/safetensors.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

namespace kvtier::model {
namespace {

using nlohmann::json;

// The format's own reference implementation refuses larger headers.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// Sizes no real checkpoint reaches, checked before anything is sized from a header: a rank
// beyond 8, one dimension beyond 2^40 elements, more tensors than a 100 MB header of real
// entries could describe.
constexpr size_t kMaxRank = 8;
constexpr uint64_t kMaxDimension = uint64_t(1) << 40;
constexpr size_t kMaxTensorsPerFile = 1'000'000;

Expected<DType> parse_st_dtype(const std::string& s, const std::string& where) {
  if (s == "BF16") return DType::kBF16;
  if (s == "F16") return DType::kF16;
  if (s == "F32") return DType::kF32;
  return make_error(ErrorCode::kUnimplemented, "{}: dtype {} is not supported (BF16, F16, F32)",
                    where, s);
}

Expected<std::vector<int64_t>> parse_ints(const json& v, const char* field,
                                          const std::string& where) {
  if (!v.is_array())
    return data_loss("{}: '{}' must be a list of integers, got {}", where, field, v.dump());
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_unsigned() && !(e.is_number_integer() && e.get<int64_t>() >= 0))
      return data_loss("{}: '{}' must hold non-negative integers, got {}", where, field, v.dump());
    uint64_t x = e.get<uint64_t>();
    if (x > uint64_t(std::numeric_limits<int64_t>::max()))
      return data_loss("{}: '{}' value {} is too large", where, field, x);
    out.push_back(int64_t(x));
  }
  return out;
}

Expected<TensorInfo> parse_entry(const std::string& name, const json& v, uint64_t data_start,
                                 uint64_t data_size, const std::string& file_name) {
  const std::string where = fmt::format("{}: tensor '{}'", file_name, name);
  if (!v.is_object()) return data_loss("{}: entry must be an object, got {}", where, v.dump());
  auto dt = v.find("dtype");
  auto sh = v.find("shape");
  auto off = v.find("data_offsets");
  if (dt == v.end() || !dt->is_string()) return data_loss("{}: missing string 'dtype'", where);
  if (sh == v.end()) return data_loss("{}: missing 'shape'", where);
  if (off == v.end()) return data_loss("{}: missing 'data_offsets'", where);
  TensorInfo t;
  t.name = name;
  KVTIER_ASSIGN_OR_RETURN(t.dtype, parse_st_dtype(dt->get<std::string>(), where));
  if (sh->is_array() && sh->size() > kMaxRank)
    return data_loss("{}: shape has {} dimensions, more than the {} allowed", where, sh->size(),
                     kMaxRank);
  KVTIER_ASSIGN_OR_RETURN(t.shape, parse_ints(*sh, "shape", where));
  for (int64_t d : t.shape)
    if (uint64_t(d) > kMaxDimension)
      return data_loss("{}: shape dimension {} is larger than the {} allowed", where, d,
                       kMaxDimension);
  KVTIER_ASSIGN_OR_RETURN(auto offsets, parse_ints(*off, "data_offsets", where));
  if (offsets.size() != 2) return data_loss("{}: 'data_offsets' must hold 2 values", where);
  uint64_t begin = uint64_t(offsets[0]), end = uint64_t(offsets[1]);
  if (begin > end) return data_loss("{}: data_offsets [{}, {}) run backwards", where, begin, end);
  if (end > data_size)
    return data_loss(
        "{}: data_offsets [{}, {}) lie beyond the data section of {} bytes "
        "(file truncated?)",
        where, begin, end, data_size);
  // Element count with overflow checks: a corrupt shape must not wrap around.
  uint64_t numel = 1;
  for (int64_t d : t.shape) {
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / uint64_t(d) / 4)
      return data_loss("{}: shape {} is too large", where, fmt::join(t.shape, "x"));
    numel *= uint64_t(d);
  }
  uint64_t expected = numel * uint64_t(dtype_size(t.dtype));
  if (end - begin != expected)
    return data_loss("{}: holds {} bytes but shape [{}] of {} needs {}", where, end - begin,
                     fmt::join(t.shape, ", "), dt->get<std::string>(), expected);
  t.file_offset = size_t(data_start + begin);
  t.nbytes = size_t(expected);
  return t;
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const char* safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
  }
  return "?";
}

Expected<std::vector<TensorInfo>> parse_safetensors_header(std::span<const std::byte> file,
                                                           const std::string& file_name) {
  if (file.size() < 8)
    return data_loss("{}: truncated: {} bytes, too short for the 8-byte header length", file_name,
                     file.size());
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint64_t(file[i]);
  if (header_len > kMaxHeaderBytes)
    return data_loss("{}: header length {} is larger than the {} bytes allowed (corrupt file?)",
                     file_name, header_len, kMaxHeaderBytes);
  if (header_len > file.size() - 8)
    return data_loss("{}: header length {} exceeds the {} bytes after it (file truncated?)",
                     file_name, header_len, file.size() - 8);
  const char* text = reinterpret_cast<const char*>(file.data() + 8);
  json header;
  try {
    header = json::parse(text, text + header_len);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    return data_loss("{}: header is not valid JSON: {}", file_name, e.what());
  }
  if (!header.is_object()) return data_loss("{}: header must be a JSON object", file_name);
  if (header.size() > kMaxTensorsPerFile)
    return data_loss("{}: header lists {} tensors, more than the {} allowed", file_name,
                     header.size(), kMaxTensorsPerFile);
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file.size() - data_start;
  std::vector<TensorInfo> tensors;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") continue;
    KVTIER_ASSIGN_OR_RETURN(auto t, parse_entry(name, v, data_start, data_size, file_name));
    tensors.push_back(std::move(t));
  }
  // Tensors may not share bytes.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors)
    if (t.nbytes > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->file_offset < b->file_offset;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo* prev = by_offset[i - 1];
    const TensorInfo* cur = by_offset[i];
    if (cur->file_offset < prev->file_offset + prev->nbytes)
      return data_loss("{}: tensors '{}' and '{}' overlap", file_name, prev->name, cur->name);
  }
  return tensors;
}

Expected<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile f;
  KVTIER_ASSIGN_OR_RETURN(f.file_, MappedFile::open(path));
  KVTIER_ASSIGN_OR_RETURN(f.tensors_, parse_safetensors_header(f.file_.bytes(), path.string()));
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  return f;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace kvtier::model
