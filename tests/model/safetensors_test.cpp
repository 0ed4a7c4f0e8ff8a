#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "model/dtype_convert.h"
#include "model/safetensors_writer.h"
#include "model_test_util.h"

namespace kvtier::model {
namespace {

using testing::TempDir;

// A file made of an 8-byte length (header.size() unless given), the header text and `data`.
void write_raw(const std::filesystem::path& path, const std::string& header, size_t data_bytes,
               int64_t length_override = -1) {
  std::ofstream out(path, std::ios::binary);
  uint64_t len = length_override >= 0 ? uint64_t(length_override) : header.size();
  for (int i = 0; i < 8; ++i) out.put(char((len >> (8 * i)) & 0xff));
  out << header;
  out << std::string(data_bytes, '\0');
}

void expect_error(const std::filesystem::path& path, ErrorCode code, const std::string& fragment) {
  auto f = SafetensorsFile::open(path);
  ASSERT_FALSE(f) << "expected an error mentioning " << fragment;
  EXPECT_EQ(f.error().code(), code) << f.error().to_string();
  EXPECT_NE(f.error().message().find(fragment), std::string::npos) << f.error().message();
  EXPECT_NE(f.error().message().find(path.string()), std::string::npos) << f.error().message();
}

TEST(Safetensors, WriterOutputReadsBack) {
  TempDir dir;
  std::vector<TensorData> tensors = {
      {{"a.weight", DType::kF32, {2, 3}}, {1, 2, 3, 4, 5, 6}},
      {{"b.weight", DType::kBF16, {3}}, {1.0f, -2.5f, 0.15625f}},
      {{"c.weight", DType::kF16, {2, 1, 2}}, {0.5f, -1.0f, 65504.0f, 3.0f}},
      {{"empty", DType::kF32, {0, 4}}, {}},
  };
  ASSERT_TRUE(write_safetensors(dir / "m.safetensors", tensors).is_ok());
  auto f = SafetensorsFile::open(dir / "m.safetensors");
  ASSERT_TRUE(f) << f.error().to_string();
  ASSERT_EQ(f->tensors().size(), 4u);
  for (const auto& t : tensors) {
    const TensorInfo* info = f->find(t.decl.name);
    ASSERT_NE(info, nullptr) << t.decl.name;
    EXPECT_EQ(info->dtype, t.decl.dtype);
    EXPECT_EQ(info->shape, t.decl.shape);
    std::vector<float> back(t.values.size());
    convert_to_float(info->dtype, f->data(*info), info->numel(), back.data());
    EXPECT_EQ(back, t.values) << t.decl.name;  // all values are exact in their dtype
  }
  EXPECT_EQ(f->find("missing"), nullptr);
  // The header is padded so data starts 8-byte aligned.
  EXPECT_EQ(f->find("a.weight")->file_offset % 8, 0u);
}

TEST(Safetensors, RejectsTruncatedFiles) {
  TempDir dir;
  { std::ofstream(dir / "short.safetensors", std::ios::binary) << "abc"; }
  expect_error(dir / "short.safetensors", ErrorCode::kDataLoss, "too short");
  write_raw(dir / "len.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4,
            4000);
  expect_error(dir / "len.safetensors", ErrorCode::kDataLoss, "header length 4000");
  write_raw(dir / "huge.safetensors", "{}", 0, int64_t(1) << 40);
  expect_error(dir / "huge.safetensors", ErrorCode::kDataLoss, "header length");
  // Data cut short: the tensor's offsets run past the end of the file.
  write_raw(dir / "data.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
            10);
  expect_error(dir / "data.safetensors", ErrorCode::kDataLoss, "tensor 'a'");
}

TEST(Safetensors, RejectsCorruptHeaders) {
  TempDir dir;
  write_raw(dir / "json.safetensors", R"({"a":{"dtype":"F32",)", 0);
  expect_error(dir / "json.safetensors", ErrorCode::kDataLoss, "not valid JSON");
  write_raw(dir / "array.safetensors", "[1,2]", 0);
  expect_error(dir / "array.safetensors", ErrorCode::kDataLoss, "JSON object");
  write_raw(dir / "size.safetensors",
            R"({"w":{"dtype":"BF16","shape":[3,2],"data_offsets":[0,8]}})", 8);
  expect_error(dir / "size.safetensors", ErrorCode::kDataLoss, "holds 8 bytes but shape [3, 2]");
  write_raw(dir / "back.safetensors", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})",
            8);
  expect_error(dir / "back.safetensors", ErrorCode::kDataLoss, "backwards");
  write_raw(dir / "overlap.safetensors",
            R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            12);
  expect_error(dir / "overlap.safetensors", ErrorCode::kDataLoss, "overlap");
  write_raw(dir / "dtype.safetensors", R"({"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})",
            8);
  expect_error(dir / "dtype.safetensors", ErrorCode::kUnimplemented, "I64");
  write_raw(dir / "shape.safetensors", R"({"s":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
            4);
  expect_error(dir / "shape.safetensors", ErrorCode::kDataLoss, "tensor 's'");
  write_raw(dir / "fields.safetensors", R"({"s":{"dtype":"F32","shape":[1]}})", 4);
  expect_error(dir / "fields.safetensors", ErrorCode::kDataLoss, "data_offsets");
  write_raw(dir / "bigshape.safetensors",
            R"({"s":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4);
  expect_error(dir / "bigshape.safetensors", ErrorCode::kDataLoss, "tensor 's'");
}

// JSON numbers beyond a double (1e999) make nlohmann's parser throw out_of_range, not
// parse_error: still a corrupt header, never an exception out of the reader.
TEST(Safetensors, RejectsNumbersBeyondADouble) {
  TempDir dir;
  write_raw(dir / "overflow.safetensors",
            R"({"s":{"dtype":"F32","shape":[42e4967297],"data_offsets":[0,4]}})", 4);
  expect_error(dir / "overflow.safetensors", ErrorCode::kDataLoss, "not valid JSON");
  write_raw(dir / "meta.safetensors",
            R"({"__metadata__":{"x":1e999},"s":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  expect_error(dir / "meta.safetensors", ErrorCode::kDataLoss, "number overflow");
}

TEST(Safetensors, MissingFileIsNotFound) {
  TempDir dir;
  expect_error(dir / "nope.safetensors", ErrorCode::kNotFound, "no such file");
}

TEST(Safetensors, AcceptsMetadataAndUnalignedData) {
  TempDir dir;
  // A 3-byte header padding-free: data starts at offset 8 + header size, not a multiple of 4.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"v":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::ofstream out(dir / "u.safetensors", std::ios::binary);
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out.put(char((len >> (8 * i)) & 0xff));
  out << header;
  float vals[2] = {1.5f, -7.25f};
  out.write(reinterpret_cast<const char*>(vals), 8);
  out.close();
  auto f = SafetensorsFile::open(dir / "u.safetensors");
  ASSERT_TRUE(f) << f.error().to_string();
  ASSERT_EQ(f->tensors().size(), 1u);
  float back[2];
  convert_to_float(DType::kF32, f->data(*f->find("v")), 2, back);
  EXPECT_EQ(back[0], 1.5f);
  EXPECT_EQ(back[1], -7.25f);
}

}  // namespace
}  // namespace kvtier::model
