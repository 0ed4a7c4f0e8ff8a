// `kvtier serve --device cuda` where it cannot run: on a machine without a GPU (and in a build
// without the CUDA backend) the server must stop at once with an error naming the flag, never
// start serving on the CPU or hang. scripts/gpu-serve-sweep covers the GPU side on the H200.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "serve_process.h"

namespace kvtier::server {
namespace {

using testing::ServeProcess;
using testing::tiny_model_dir;

bool gpu_visible() { return std::filesystem::exists("/dev/nvidiactl"); }

TEST(ServeCuda, DeviceCudaWithoutAGpuStopsAtOnceNamingTheFlag) {
  if (gpu_visible()) GTEST_SKIP() << "a GPU is visible here: scripts/gpu-serve-sweep covers it";
  ServeProcess server(tiny_model_dir(), {"--device", "cuda"}, std::chrono::seconds(60));
  EXPECT_FALSE(server.ready()) << server.log();
  const std::optional<int> code = server.wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value()) << "kvtier serve --device cuda kept running:\n" << server.log();
  EXPECT_EQ(*code, 2) << server.log();
  const std::string log = server.log();
  EXPECT_NE(log.find("--device cuda"), std::string::npos) << log;
  EXPECT_EQ(log.find("Application startup complete"), std::string::npos) << log;
}

TEST(ServeCuda, DeviceAutoWithoutAGpuServesOnTheCpu) {
  if (gpu_visible()) GTEST_SKIP() << "a GPU is visible here: auto picks it";
  ServeProcess server(tiny_model_dir(), {"--device", "auto"});
  ASSERT_TRUE(server.ready()) << server.log();
  EXPECT_NE(server.log().find("device cpu"), std::string::npos) << server.log();
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(std::chrono::seconds(30)), 0) << server.log();
}

}  // namespace
}  // namespace kvtier::server
