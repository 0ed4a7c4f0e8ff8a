// vLLM flags that `kvtier serve` honours or refuses: --chat-template (a file or the template,
// rendered by the tokenizer's own interpreter), --enforce-eager, --dtype against the device,
// --enable-server-load-tracking.
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/paths.h"
#include "server/chat_template_flag.h"
#include "server/dtype_choice.h"
#include "server/serve_args.h"

namespace kvtier::server {
namespace {

const char* kTemplate =
    "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
    "{% if add_generation_prompt %}[assistant]{% endif %}{{ eos_token }}";

class ChatTemplateFlagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kvtier_chat_template_flag_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ChatTemplateFlagTest, ReadsAFileAndRendersWithTheTokenizersVariables) {
  auto path = dir_ / "chat.jinja";
  std::ofstream(path) << kTemplate;
  ServeArgs parsed = parse_serve_args({"m", "--chat-template", path.string()});
  ASSERT_TRUE(parsed.options) << parsed.message;
  ASSERT_TRUE(parsed.options->chat_template);
  EXPECT_EQ(parsed.options->chat_template->text, kTemplate);
  EXPECT_EQ(parsed.options->chat_template->source, "--chat-template " + path.string());

  // The bundled Qwen3 tokenizer with the flag's template instead of its own: eos_token comes
  // from its tokenizer_config.json, as for the tokenizer's own template.
  auto tokenizer =
      load_tokenizer_with_template(default_tokenizer_dir(), *parsed.options->chat_template);
  ASSERT_TRUE(tokenizer) << tokenizer.error().message();
  nlohmann::json messages = nlohmann::json::parse(
      R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])");
  auto rendered = (*tokenizer)->apply_chat_template(messages, tokenizer::ChatOptions{});
  ASSERT_TRUE(rendered) << rendered.error().message();
  EXPECT_EQ(*rendered, "[system] Be brief.\n[user] Hi\n[assistant]<|im_end|>");

  // Without the flag the same tokenizer renders its own (ChatML) template.
  auto own = tokenizer::Tokenizer::load(default_tokenizer_dir());
  ASSERT_TRUE(own);
  auto own_rendered = (*own)->apply_chat_template(messages, tokenizer::ChatOptions{});
  ASSERT_TRUE(own_rendered);
  EXPECT_NE(own_rendered->find("<|im_start|>user\nHi<|im_end|>"), std::string::npos);
}

TEST_F(ChatTemplateFlagTest, TakesTheTemplateItselfWhenItIsNoFile) {
  ServeArgs parsed = parse_serve_args({"m", "--chat-template", kTemplate});
  ASSERT_TRUE(parsed.options) << parsed.message;
  EXPECT_EQ(parsed.options->chat_template->text, kTemplate);
  EXPECT_EQ(parsed.options->chat_template->source, "--chat-template (inline)");
  EXPECT_FALSE(parse_serve_args({"m"}).options->chat_template);
}

TEST_F(ChatTemplateFlagTest, APathThatDoesNotOpenIsAnError) {
  std::string missing = (dir_ / "missing.jinja").string();
  ServeArgs parsed = parse_serve_args({"m", "--chat-template", missing});
  EXPECT_FALSE(parsed.options);
  EXPECT_EQ(parsed.exit_code, 2);
  EXPECT_NE(parsed.message.find("--chat-template " + missing +
                                ": looks like a file path, but it cannot be read"),
            std::string::npos)
      << parsed.message;
  // A directory is not a template file either.
  ServeArgs directory = parse_serve_args({"m", "--chat-template", dir_.string()});
  EXPECT_FALSE(directory.options);
  EXPECT_NE(directory.message.find("looks like a file path"), std::string::npos)
      << directory.message;
}

TEST_F(ChatTemplateFlagTest, ATemplateThatDoesNotParseIsAnErrorNamingTheFlag) {
  ServeArgs inline_bad = parse_serve_args({"m", "--chat-template", "{% for m in messages %}x"});
  EXPECT_FALSE(inline_bad.options);
  EXPECT_EQ(inline_bad.exit_code, 2);
  EXPECT_NE(inline_bad.message.find("kvtier serve: --chat-template (inline): line 1"),
            std::string::npos)
      << inline_bad.message;

  auto path = dir_ / "bad.jinja";
  std::ofstream(path) << "line one\n{{ messages | no_such_filter_anywhere( }}\n";
  ServeArgs file_bad = parse_serve_args({"m", "--chat-template", path.string()});
  EXPECT_FALSE(file_bad.options);
  EXPECT_NE(file_bad.message.find("--chat-template " + path.string() + ": line 2"),
            std::string::npos)
      << file_bad.message;
}

TEST(ServeFlags, EnforceEagerReachesTheEngine) {
  ServeArgs on = parse_serve_args({"m", "--enforce-eager"});
  ASSERT_TRUE(on.options) << on.message;
  EXPECT_TRUE(on.options->engine.enforce_eager);
  ServeArgs off = parse_serve_args({"m"});
  ASSERT_TRUE(off.options);
  EXPECT_FALSE(off.options->engine.enforce_eager);
}

TEST(ServeFlags, ServerLoadTrackingIsOffUnlessAsked) {
  EXPECT_FALSE(parse_serve_args({"m"}).options->api.enable_server_load_tracking);
  EXPECT_TRUE(parse_serve_args({"m", "--enable-server-load-tracking"})
                  .options->api.enable_server_load_tracking);
}

TEST(ServeFlags, DtypeIsHonouredOrRefusedPerDevice) {
  for (const char* dtype : {"auto", "float", "float32"}) {
    EXPECT_TRUE(check_dtype(dtype, "cpu").is_ok()) << dtype;
  }
  for (const char* dtype : {"auto", "bfloat16"}) {
    EXPECT_TRUE(check_dtype(dtype, "cuda").is_ok()) << dtype;
  }
  Status cpu_half = check_dtype("half", "cpu");
  EXPECT_FALSE(cpu_half.is_ok());
  EXPECT_NE(cpu_half.message().find("--dtype half: the CPU backend computes in float32"),
            std::string::npos)
      << cpu_half.message();
  EXPECT_FALSE(check_dtype("bfloat16", "cpu").is_ok());
  Status cuda_fp32 = check_dtype("float32", "cuda");
  EXPECT_FALSE(cuda_fp32.is_ok());
  EXPECT_NE(cuda_fp32.message().find("--dtype float32: the CUDA backend computes in bfloat16"),
            std::string::npos)
      << cuda_fp32.message();
  EXPECT_FALSE(check_dtype("float16", "cuda").is_ok());
  // Values outside vLLM's choices are refused by the parser, naming the flag.
  ServeArgs bad = parse_serve_args({"m", "--dtype", "int8"});
  EXPECT_FALSE(bad.options);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.message.find("--dtype"), std::string::npos) << bad.message;
}

}  // namespace
}  // namespace kvtier::server
