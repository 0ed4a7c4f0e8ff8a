#pragma once
// Shared by the tokenizer tests: the reference fixtures (written by
// tools/reference/tokenizer_fixtures.py from Hugging Face tokenizers/transformers) and the real
// Qwen3 tokenizer, loaded once per test process.
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/paths.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::tokenizer::testing {

inline std::filesystem::path fixture_path(std::string_view name) {
  return std::filesystem::path(KVTIER_SOURCE_DIR) / "tests" / "fixtures" / "tokenizer" / std::string(name);
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline nlohmann::ordered_json read_fixture(std::string_view name) {
  const std::filesystem::path path = fixture_path(name);
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << "missing fixture " << path;
    return nlohmann::ordered_json::object();
  }
  return nlohmann::ordered_json::parse(read_text(path));
}

inline std::shared_ptr<const Tokenizer> qwen3() {
  static const std::shared_ptr<const Tokenizer> tokenizer = [] {
    auto t = Tokenizer::load(default_tokenizer_dir());
    if (!t) {
      ADD_FAILURE() << t.error().message() << " (run scripts/fetch-tokenizer)";
      return std::shared_ptr<const Tokenizer>();
    }
    return *t;
  }();
  return tokenizer;
}

// A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("kvtier_tokenizer_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  void write(std::string_view name, std::string_view content) const {
    std::ofstream(path_ / std::string(name), std::ios::binary) << content;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

}  // namespace kvtier::tokenizer::testing
