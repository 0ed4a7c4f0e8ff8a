// An invalid generation_config.json is refused when it is read at start, with the file and the
// field named, instead of making every request fail with a 400 that blames the client.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/api_request.h"

namespace kvtier::server {
namespace {

class HostileGenerationConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kvtier_hostile_genconfig_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void expect_refused(const std::string& text, const std::string& field) {
    std::ofstream(dir_ / "generation_config.json") << text;
    auto defaults = read_generation_config(dir_);
    ASSERT_FALSE(defaults) << text << " accepted";
    const std::string& m = defaults.error().message();
    EXPECT_NE(m.find((dir_ / "generation_config.json").string()), std::string::npos) << m;
    EXPECT_NE(m.find(field), std::string::npos) << m;
  }

  std::filesystem::path dir_;
};

TEST_F(HostileGenerationConfig, OutOfRangeSamplingValuesAreRefused) {
  expect_refused(R"({"temperature": -5})", "temperature");
  expect_refused(R"({"temperature": 1e39})", "temperature");  // inf as a float
  expect_refused(R"({"top_p": 0})", "top_p");
  expect_refused(R"({"top_p": 1.5})", "top_p");
  expect_refused(R"({"top_k": -2})", "top_k");
  expect_refused(R"({"top_k": 2.5})", "top_k");
  expect_refused(R"({"top_k": 1e12})", "top_k");
  expect_refused(R"({"min_p": 2})", "min_p");
  expect_refused(R"({"repetition_penalty": 0})", "repetition_penalty");
  expect_refused(R"({"max_new_tokens": 0})", "max_new_tokens");
  expect_refused(R"({"max_new_tokens": -1})", "max_new_tokens");
  expect_refused(R"({"eos_token_id": "x"})", "eos_token_id");
  expect_refused(R"({"eos_token_id": [1, -3]})", "eos_token_id");
}

TEST_F(HostileGenerationConfig, QwenAndGreedyConfigsStillLoad) {
  std::ofstream(dir_ / "generation_config.json")
      << R"({"do_sample": true, "temperature": 0.6, "top_k": 20, "top_p": 0.95, "min_p": 0,
             "repetition_penalty": 1.0, "max_new_tokens": 2048, "top_k_unused": null,
             "eos_token_id": [151645, 151643]})";
  auto defaults = read_generation_config(dir_);
  ASSERT_TRUE(defaults) << defaults.error().message();
  EXPECT_FLOAT_EQ(*defaults->temperature, 0.6f);
  EXPECT_EQ(*defaults->top_k, 20);
  EXPECT_EQ(*defaults->max_tokens, 2048);
  std::ofstream(dir_ / "generation_config.json") << R"({"temperature": 0, "top_k": -1})";
  EXPECT_TRUE(read_generation_config(dir_));
}

}  // namespace
}  // namespace kvtier::server
