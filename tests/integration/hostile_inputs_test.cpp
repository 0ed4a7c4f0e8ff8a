// The real kvtier binary against hostile model folders: a FIFO where a file should be, sizes
// too large, invalid generation settings. Each is an error at start naming the file, never a
// hang, an abort or a server answering 503 forever.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "serve_process.h"

namespace kvtier::server::testing {
namespace {

namespace fs = std::filesystem;

std::string run(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class HostileInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path tiny = tiny_model_dir();
    ASSERT_TRUE(fs::exists(tiny / "config.json"));
    dir_ = fs::temp_directory_path() /
           ("kvtier_hostile_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Links to the tiny model's files, so a test replaces one without copying the rest.
    for (const auto& entry : fs::directory_iterator(tiny))
      fs::create_symlink(fs::absolute(entry.path()), dir_ / entry.path().filename());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void make_fifo(const std::string& name) {
    fs::remove(dir_ / name);
    ASSERT_EQ(::mkfifo((dir_ / name).c_str(), 0600), 0);
  }
  void replace_json(const std::string& name, const nlohmann::json& j) {
    fs::remove(dir_ / name);
    std::ofstream(dir_ / name) << j.dump();
  }
  nlohmann::json read_json(const std::string& name) {
    std::ifstream in(dir_ / name);
    return nlohmann::json::parse(in);
  }
  // `timeout` turns a hang into exit code 124, so a regression fails instead of hanging.
  std::string generate(int* code) {
    return run("timeout 120 " + std::string(KVTIER_BIN) + " generate --model " + dir_.string() +
                   " --prompt-ids 1,2,3 --max-tokens 2",
               code);
  }
  std::string serve(int* code) {
    return run("timeout 120 " + std::string(KVTIER_BIN) + " serve " + dir_.string() +
                   " --host 127.0.0.1 --port 0",
               code);
  }

  fs::path dir_;
};

TEST_F(HostileInputs, FifoWeightsFailGenerateAndServeAtStart) {
  make_fifo("model.safetensors");
  int code = -1;
  std::string out = generate(&code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(code, 124) << "generate hung on a FIFO:\n" << out;
  EXPECT_NE(out.find((dir_ / "model.safetensors").string()), std::string::npos) << out;
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
  out = serve(&code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
}

TEST_F(HostileInputs, FifoTokenizerFailsServeAtStart) {
  make_fifo("tokenizer.json");
  int code = -1;
  std::string out = serve(&code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find((dir_ / "tokenizer.json").string()), std::string::npos) << out;
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
}

TEST_F(HostileInputs, HugeLayerCountIsAnErrorNamingTheField) {
  nlohmann::json config = read_json("config.json");
  config["num_hidden_layers"] = 2147483647;
  replace_json("config.json", config);
  int code = -1;
  std::string out = generate(&code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("config.json"), std::string::npos) << out;
  EXPECT_NE(out.find("num_hidden_layers"), std::string::npos) << out;
  EXPECT_EQ(out.find("bad_alloc"), std::string::npos) << out;
  out = serve(&code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(code, 124) << out;
  EXPECT_NE(out.find("num_hidden_layers"), std::string::npos) << out;
}

TEST_F(HostileInputs, InvalidGenerationConfigFailsServeAtStart) {
  replace_json("generation_config.json", {{"temperature", -5}});
  int code = -1;
  std::string out = serve(&code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find((dir_ / "generation_config.json").string()), std::string::npos) << out;
  EXPECT_NE(out.find("temperature must be >= 0, got -5"), std::string::npos) << out;
  EXPECT_EQ(out.find("listening"), std::string::npos) << out;
}

TEST_F(HostileInputs, EosOutsideTheVocabularyFailsAtStart) {
  replace_json("generation_config.json", {{"eos_token_id", {151645, 99999999}}});
  int code = -1;
  std::string out = serve(&code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find((dir_ / "generation_config.json").string()), std::string::npos) << out;
  EXPECT_NE(out.find("eos_token_id 99999999"), std::string::npos) << out;
  out = generate(&code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("eos_token_id 99999999"), std::string::npos) << out;
  nlohmann::json config = read_json("config.json");
  config["eos_token_id"] = 99999999;
  replace_json("config.json", config);
  fs::remove(dir_ / "generation_config.json");
  out = generate(&code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("config.json"), std::string::npos) << out;
  EXPECT_NE(out.find("99999999"), std::string::npos) << out;
}

}  // namespace
}  // namespace kvtier::server::testing
