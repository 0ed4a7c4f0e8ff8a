// Tokenizer files that are FIFOs are refused at once: opening one for reading would wait for a
// writer forever (`kvtier tokenize`, the router's tokenizer).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/paths.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::tokenizer {
namespace {

namespace fs = std::filesystem;

class FifoDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kvtier_fifo_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(FifoDir, TokenizerJsonThatIsAFifoIsAnError) {
  ASSERT_EQ(::mkfifo((dir_ / "tokenizer.json").c_str(), 0600), 0);
  auto tok = Tokenizer::load(dir_);
  ASSERT_FALSE(tok);
  EXPECT_NE(tok.error().message().find("tokenizer.json"), std::string::npos)
      << tok.error().message();
  EXPECT_NE(tok.error().message().find("FIFO"), std::string::npos) << tok.error().message();
}

TEST_F(FifoDir, TokenizerConfigThatIsAFifoIsAnError) {
  fs::copy_file(default_tokenizer_dir() / "tokenizer.json", dir_ / "tokenizer.json");
  ASSERT_EQ(::mkfifo((dir_ / "tokenizer_config.json").c_str(), 0600), 0);
  auto tok = Tokenizer::load(dir_);
  ASSERT_FALSE(tok);
  EXPECT_NE(tok.error().message().find("tokenizer_config.json"), std::string::npos)
      << tok.error().message();
  EXPECT_NE(tok.error().message().find("FIFO"), std::string::npos) << tok.error().message();
}

}  // namespace
}  // namespace kvtier::tokenizer
