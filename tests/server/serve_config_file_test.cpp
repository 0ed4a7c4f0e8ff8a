// `kvtier serve --config FILE.yaml` and vLLM's dotted JSON options
// (`--kv-transfer-config.kv_connector X`): what each turns into, which source wins, and the
// errors that name the file, key or option.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/dotted_args.h"
#include "server/serve_args.h"

namespace kvtier::server {
namespace {

using nlohmann::json;

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kvtier_serve_config_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST_F(ConfigFile, SetsValuesFlagsListsAndJsonOptions) {
  std::string file = write("serve.yaml", R"(
model: /models/qwen3
port: 8123
max_num_seqs: 64
gpu-memory-utilization: 0.5
enable-prefix-caching: false
enforce-eager: true
trust-remote-code: false
served-model-name: [alpha, beta]
seed: -3
kv-transfer-config:
  kv_connector: OffloadingConnector
  kv_role: kv_both
  kv_connector_extra_config: {num_cpu_blocks: 100}
kv_events_config: '{"enable_kv_cache_events": true}'
)");
  ServeArgs parsed = parse_serve_args({"--config", file});
  ASSERT_TRUE(parsed.options) << parsed.message;
  const ServeOptions& o = *parsed.options;
  EXPECT_EQ(o.engine.model_dir, "/models/qwen3");
  EXPECT_EQ(o.http.port, 8123);
  EXPECT_EQ(o.engine.max_num_seqs, 64);
  EXPECT_TRUE(o.max_num_seqs_set);
  EXPECT_DOUBLE_EQ(o.engine.gpu_memory_utilization, 0.5);
  EXPECT_FALSE(o.engine.enable_prefix_caching);
  EXPECT_TRUE(o.engine.enforce_eager);
  EXPECT_EQ(o.api.served_model_names, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(o.engine.seed, uint64_t(int64_t(-3)));
  EXPECT_EQ(json::parse(o.engine.kv_transfer_config),
            json::parse(R"({"kv_connector": "OffloadingConnector", "kv_role": "kv_both",
                            "kv_connector_extra_config": {"num_cpu_blocks": 100}})"));
  EXPECT_EQ(json::parse(o.engine.kv_events_config), json::parse(R"({"enable_kv_cache_events":
                                                                      true})"));
}

TEST_F(ConfigFile, TheCommandLineWins) {
  std::string file = write("serve.yml", R"(
model: /from/file
port: 8123
max-num-seqs: 64
enable-prefix-caching: true
served-model-name: [alpha, beta]
)");
  ServeArgs parsed =
      parse_serve_args({"/from/cli", "--config=" + file, "--port", "9000", "--max-num-seq", "8",
                        "--no-enable-prefix-caching", "--served-model-name", "gamma"});
  ASSERT_TRUE(parsed.options) << parsed.message;
  const ServeOptions& o = *parsed.options;
  EXPECT_EQ(o.engine.model_dir, "/from/cli");
  EXPECT_EQ(o.http.port, 9000);
  EXPECT_EQ(o.engine.max_num_seqs, 8);
  EXPECT_FALSE(o.engine.enable_prefix_caching);
  EXPECT_EQ(o.api.served_model_names, std::vector<std::string>{"gamma"});
}

TEST_F(ConfigFile, UnknownKeysAndBadValuesNameTheFileAndKey) {
  struct Case {
    std::string yaml;
    std::string message;  // after "kvtier serve: --config FILE: "
  };
  const std::vector<Case> cases = {
      {"port: 1\nmax-num-seqz: 4\n", "max-num-seqz: unknown option (not a `kvtier serve` flag)"},
      {"enforce-eager: maybe\n", "enforce-eager: expected true or false, got 'maybe'"},
      {"port: [1, 2]\n", "port: expected one value, got a list"},
      {"kv-transfer-config: [1]\n", "kv-transfer-config: expected a map (or its JSON text)"},
      {"port:\n", "port: has no value"},
      {"config: other.yaml\n", "config: a config file cannot name another"},
      {"help: true\n", "help: unknown option (not a `kvtier serve` flag)"},
      {"- port\n- 1\n", "expected a map of option names to values, got a list"},
      {"port: 1\nport: [\n", "not valid YAML"},
      {"max-num: 4\n", "max-num: ambiguous: could be --max-num-seqs, --max-num-batched-tokens"},
      {"max_num_seqs: 4\nmax-num-seqs: 5\n", "max-num-seqs: given twice (under two spellings)"},
  };
  for (const Case& c : cases) {
    std::string file = write("bad.yaml", c.yaml);
    ServeArgs parsed = parse_serve_args({"m", "--config", file});
    EXPECT_FALSE(parsed.options) << c.yaml;
    EXPECT_EQ(parsed.exit_code, 2) << c.yaml;
    EXPECT_NE(parsed.message.find("kvtier serve: --config " + file + ": " + c.message),
              std::string::npos)
        << parsed.message;
  }
  ServeArgs json_file = parse_serve_args({"m", "--config", write("serve.json", "{}")});
  EXPECT_NE(json_file.message.find("must be .yaml or .yml"), std::string::npos)
      << json_file.message;
  ServeArgs missing = parse_serve_args({"m", "--config", (dir_ / "none.yaml").string()});
  EXPECT_NE(missing.message.find("none.yaml"), std::string::npos) << missing.message;
  ServeArgs twice =
      parse_serve_args({"m", "--config", write("a.yaml", ""), "--config", write("b.yaml", "")});
  EXPECT_NE(twice.message.find("--config is given twice"), std::string::npos) << twice.message;
  // A type error in the file surfaces from the parser, naming the flag.
  ServeArgs type = parse_serve_args({"m", "--config", write("t.yaml", "port: eighty\n")});
  EXPECT_FALSE(type.options);
  EXPECT_NE(type.message.find("--port"), std::string::npos) << type.message;
}

TEST_F(ConfigFile, KeysMayBeAbbreviatedAsOnTheCommandLine) {
  ServeArgs parsed =
      parse_serve_args({"m", "--config", write("seed.yaml", "max-num-seq: 1024\nenforce: true\n")});
  ASSERT_TRUE(parsed.options) << parsed.message;
  EXPECT_EQ(parsed.options->engine.max_num_seqs, 1024);
  EXPECT_TRUE(parsed.options->engine.enforce_eager);
}

TEST_F(ConfigFile, AnEmptyFileSetsNothing) {
  ServeArgs parsed = parse_serve_args({"m", "--config", write("empty.yaml", "")});
  ASSERT_TRUE(parsed.options) << parsed.message;
  EXPECT_EQ(parsed.options->http.port, 8000);
}

TEST(DottedArgs, SetKeysOfTheJsonOptions) {
  ServeArgs parsed = parse_serve_args(
      {"m", "--kv-transfer-config.kv_connector", "OffloadingConnector",
       "--kv-transfer-config.kv_connector_extra_config.num_cpu_blocks=100",
       "--kv_events_config.enable_kv_cache_events", "true", "--kv-events-config.topic", "kv@x",
       "--kv-transfer-config.kv_connector_extra_config.tiers+", "cpu,disk"});
  ASSERT_TRUE(parsed.options) << parsed.message;
  EXPECT_EQ(json::parse(parsed.options->engine.kv_transfer_config),
            json::parse(R"({"kv_connector": "OffloadingConnector",
                            "kv_connector_extra_config": {"num_cpu_blocks": 100,
                                                          "tiers": ["cpu", "disk"]}})"));
  EXPECT_EQ(json::parse(parsed.options->engine.kv_events_config),
            json::parse(R"({"enable_kv_cache_events": true, "topic": "kv@x"})"));
}

TEST(DottedArgs, MergeOverTheOptionsJson) {
  ServeArgs parsed =
      parse_serve_args({"m", "--kv-transfer-config",
                        R"({"kv_connector": "OffloadingConnector", "kv_role": "kv_both",
           "kv_connector_extra_config": {"num_cpu_blocks": 10, "block_size": 64}})",
                        "--kv-transfer-config.kv_connector_extra_config.num_cpu_blocks", "5000"});
  ASSERT_TRUE(parsed.options) << parsed.message;
  std::string text = parsed.options->engine.kv_transfer_config;
  EXPECT_EQ(json::parse(text),
            json::parse(R"({"kv_connector": "OffloadingConnector", "kv_role": "kv_both",
                            "kv_connector_extra_config": {"num_cpu_blocks": 5000,
                                                          "block_size": 64}})"));
  EXPECT_LT(text.find("kv_connector"), text.find("kv_role"));  // the given key order stays
}

TEST_F(ConfigFile, DottedKeysMergeOverTheFilesJson) {
  std::string file =
      write("serve.yaml", "kv-transfer-config: {kv_connector: A, kv_role: kv_both}\n");
  ServeArgs parsed =
      parse_serve_args({"m", "--config", file, "--kv-transfer-config.kv_connector", "B"});
  ASSERT_TRUE(parsed.options) << parsed.message;
  EXPECT_EQ(json::parse(parsed.options->engine.kv_transfer_config),
            json::parse(R"({"kv_connector": "B", "kv_role": "kv_both"})"));
}

TEST(DottedArgs, ErrorsNameTheOption) {
  auto not_json = parse_serve_args({"m", "--max-model-len.x", "3"});
  EXPECT_FALSE(not_json.options);
  EXPECT_EQ(not_json.exit_code, 2);
  EXPECT_NE(not_json.message.find("--max-model-len.x: only the JSON options "
                                  "(--kv-events-config, --kv-transfer-config) take dotted keys"),
            std::string::npos)
      << not_json.message;
  auto no_value = parse_serve_args({"m", "--kv-transfer-config.kv_connector"});
  EXPECT_NE(no_value.message.find("--kv-transfer-config.kv_connector needs a value"),
            std::string::npos)
      << no_value.message;
  auto empty_key = parse_serve_args({"m", "--kv-transfer-config..x", "1"});
  EXPECT_NE(empty_key.message.find("an empty key"), std::string::npos) << empty_key.message;
  auto bad_base = parse_serve_args(
      {"m", "--kv-transfer-config", "[1]", "--kv-transfer-config.kv_connector", "X"});
  EXPECT_NE(bad_base.message.find("--kv-transfer-config must be a JSON object"), std::string::npos)
      << bad_base.message;
}

TEST(DottedArgs, ValuesAreJsonWhereTheyParse) {
  auto out = extract_dotted_args(
      {"--a.n", "12", "--a.s", "text", "--a.o={\"k\":[1]}", "--", "--a.after", "x"}, {"--a"});
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(out->objects.at("--a"), json::parse(R"({"n": 12, "s": "text", "o": {"k": [1]}})"));
  EXPECT_EQ(out->rest, (std::vector<std::string>{"--", "--a.after", "x"}));
}

}  // namespace
}  // namespace kvtier::server
