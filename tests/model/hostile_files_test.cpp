// A FIFO (or any non-regular file) where a model file should be is an error, not a wait.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/mapped_file.h"
#include "model_test_util.h"

namespace kvtier::model {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

// Runs `load` with a deadline; a reader blocked on the FIFO is released by opening the write
// end, so a regression fails the test instead of hanging it.
template <typename Load>
auto finishes(const std::filesystem::path& fifo, Load load) {
  auto result = std::async(std::launch::async, load);
  if (result.wait_for(30s) == std::future_status::timeout) {
    ADD_FAILURE() << "still waiting on " << fifo << " after 30 s";
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  return result.get();
}

void expect_not_regular(const Status& s, const std::filesystem::path& path) {
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find(path.string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not a regular file"), std::string::npos) << s.message();
}

TEST(HostileFiles, FifoConfigIsAnError) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "config.json").c_str(), 0600), 0);
  auto c = finishes(dir / "config.json", [&] { return load_config(dir.path()); });
  ASSERT_FALSE(c);
  expect_not_regular(c.error(), dir / "config.json");
}

TEST(HostileFiles, FifoWeightsAreAnError) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "model.safetensors").c_str(), 0600), 0);
  auto c = finishes(dir / "model.safetensors", [&] { return Checkpoint::open(dir.path()); });
  ASSERT_FALSE(c);
  expect_not_regular(c.error(), dir / "model.safetensors");
}

TEST(HostileFiles, FifoIndexIsAnError) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "model.safetensors.index.json").c_str(), 0600), 0);
  auto c =
      finishes(dir / "model.safetensors.index.json", [&] { return Checkpoint::open(dir.path()); });
  ASSERT_FALSE(c);
  expect_not_regular(c.error(), dir / "model.safetensors.index.json");
}

TEST(HostileFiles, FolderCheckNamesEveryKindOfModelFile) {
  for (const char* name : {"config.json", "generation_config.json", "model.safetensors",
                           "tokenizer.json", "tokenizer_config.json"}) {
    TempDir dir;
    std::ofstream(dir / "config.json") << "{}";
    std::filesystem::remove(dir / name);
    ASSERT_EQ(::mkfifo((dir / name).c_str(), 0600), 0);
    Status s = check_model_folder_files(dir.path());
    expect_not_regular(s, dir / name);
  }
  TempDir fine;
  std::ofstream(fine / "config.json") << "{}";
  EXPECT_TRUE(check_model_folder_files(fine.path()).is_ok());
  // A directory where a file should be is refused too.
  std::filesystem::create_directory(fine / "tokenizer.json");
  expect_not_regular(check_model_folder_files(fine.path()), fine / "tokenizer.json");
}

}  // namespace
}  // namespace kvtier::model
