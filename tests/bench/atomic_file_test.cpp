#include "bench/atomic_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "test_support.h"

namespace kvtier::bench {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, ReplacesTheFileOnlyOnceTheNewContentIsComplete) {
  const auto dir = testing::fresh_temp_dir("atomic_replace");
  const auto path = dir / "out.json";
  ASSERT_TRUE(write_file_atomically(path, [](std::ostream& out) { out << "old"; }).is_ok());
  EXPECT_EQ(read_all(path), "old");

  // Larger than the writer's buffer, so part of it reaches the disk while the callback runs.
  const std::string big(300000, 'x');
  std::vector<std::string> seen_during_write;
  std::string target_during_write;
  Status s = write_file_atomically(path, [&](std::ostream& out) {
    out << big;
    out.flush();
    seen_during_write = names_in(dir);
    target_during_write = read_all(path);
    out << "end";
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  // While writing, a reader saw the old file whole, beside a hidden temporary file.
  EXPECT_EQ(target_during_write, "old");
  ASSERT_EQ(seen_during_write.size(), 2u);
  EXPECT_TRUE(seen_during_write[0].starts_with(".out.json.tmp-")) << seen_during_write[0];
  EXPECT_EQ(seen_during_write[1], "out.json");
  EXPECT_EQ(read_all(path), big + "end");
  // No temporary file is left behind.
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.json"});
  fs::remove_all(dir);
}

TEST(AtomicFile, AFailureNamesTheFileAndLeavesTheTargetAsItWas) {
  const auto dir = testing::fresh_temp_dir("atomic_fail");
  const auto missing = dir / "no-such-folder" / "out.csv";
  Status s = write_file_atomically(missing, [](std::ostream& out) { out << "x"; });
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find(missing.string()), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(missing.parent_path()));

  // A signal handler removing the temporary file mid-write (then the process would _exit): the
  // rename finds nothing, the old file stays and nothing is left behind.
  const auto path = dir / "out.csv";
  ASSERT_TRUE(write_file_atomically(path, [](std::ostream& out) { out << "kept"; }).is_ok());
  s = write_file_atomically(path, [](std::ostream& out) {
    out << "partial";
    out.flush();
    remove_pending_temp_file();
  });
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find(path.string()), std::string::npos) << s.message();
  EXPECT_EQ(read_all(path), "kept");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.csv"});
  // Outside a write there is nothing to remove.
  remove_pending_temp_file();
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.csv"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kvtier::bench
