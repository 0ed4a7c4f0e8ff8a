// The official `openai` npm client (tests/js/openai_client.test.mjs, run by node) against the
// real `kvtier serve` on the tiny model, with an API key.
#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "integration/serve_process.h"

namespace kvtier::server::testing {
namespace {

TEST(OpenAiJsClient, PassesAgainstKvtierServe) {
  namespace fs = std::filesystem;
  fs::path js = fs::path(KVTIER_SOURCE_DIR) / "tests" / "js";
  if (std::system("node --version > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "node is not installed";
  }
  if (!fs::exists(js / "node_modules" / "openai" / "package.json")) {
    GTEST_SKIP() << "the openai npm package is not installed: run scripts/fetch-js-clients";
  }
  fs::path model = tiny_model_dir();
  ASSERT_TRUE(fs::exists(model / "config.json"));
  ServeProcess serve(model, {"--api-key", "js-test-key"});
  ASSERT_TRUE(serve.ready()) << serve.log();

  std::string command = "cd " + js.string() + " && KVTIER_BASE_URL=http://127.0.0.1:" +
                        std::to_string(serve.port()) + " KVTIER_MODEL='" + model.string() +
                        "' KVTIER_API_KEY=js-test-key node --test openai_client.test.mjs 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  int status = ::pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output << "\n--- server log\n"
                                                              << serve.log();
  EXPECT_NE(output.find("# pass 6"), std::string::npos) << output;
  EXPECT_NE(output.find("# fail 0"), std::string::npos) << output;
}

}  // namespace
}  // namespace kvtier::server::testing
