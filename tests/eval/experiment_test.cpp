// The experiment file's schema: every error names the file and the key path.
#include <gtest/gtest.h>

#include "eval/experiment.h"

namespace kvtier::eval {
namespace {

const char* kValid = R"(
name: t
repeats: 2
device: cpu
models:
  - {name: tiny, preset: tiny}
configs:
  no-offload: {num-gpu-blocks-override: 160}
  native-offload:
    num-gpu-blocks-override: 160
    kv-transfer-config:
      kv_connector: OffloadingConnector
      kv_role: kv_both
      kv_connector_extra_config: {num_cpu_blocks: 4000}
    sweep: {key: num_cpu_blocks, values: [2500, 5000]}
workloads:
  long:
    data: {prompt_tokens: 64, output_tokens: 8}
    rates: [1, 2]
    max_seconds: 5
)";

Expected<Experiment> parse(const std::string& text) { return parse_experiment(text, "exp.yaml", ""); }

// The error message of parsing `text`, which must fail.
std::string error_of(const std::string& text) {
  auto e = parse(text);
  EXPECT_FALSE(e.has_value()) << "parsed: " << text;
  return e ? "" : e.error().message();
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(Experiment, ParsesTheFullSchema) {
  auto e = parse(kValid);
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ(e->name, "t");
  EXPECT_EQ(e->repeats, 2);
  EXPECT_EQ(e->baseline, "no-offload");  // the first config
  ASSERT_EQ(e->configs.size(), 2u);
  EXPECT_EQ(e->configs[1].name, "native-offload");
  ASSERT_TRUE(e->configs[1].sweep.has_value());
  EXPECT_TRUE(e->configs[1].sweep->extra_config);
  EXPECT_EQ(e->configs[1].sweep->values.size(), 2u);
  ASSERT_EQ(e->workloads.size(), 1u);
  EXPECT_EQ(e->workloads[0].data, R"({"output_tokens":8,"prompt_tokens":64})");
  EXPECT_EQ(e->workloads[0].levels(), 2);
  EXPECT_EQ(e->monitor.enabled, MonitorMode::kAuto);
  EXPECT_EQ(e->topology.engines, 1);
  EXPECT_FALSE(e->topology.router);
}

TEST(Experiment, UnknownKeysAreErrors) {
  EXPECT_EQ(error_of(std::string(kValid) + "colour: red\n").rfind("exp.yaml: colour: unknown key", 0),
            0u);
  const std::string msg = error_of(replace(kValid, "max_seconds: 5", "max_seconds: 5\n    speed: 3"));
  EXPECT_NE(msg.find("exp.yaml: workloads.long.speed: unknown key"), std::string::npos) << msg;
}

TEST(Experiment, WrongTypesNameTheKeyPath) {
  EXPECT_EQ(error_of(replace(kValid, "rates: [1, 2]", "rates: [1, 2, x]")),
            "exp.yaml: workloads.long.rates[2]: 'x' is not a number");
  EXPECT_EQ(error_of(replace(kValid, "repeats: 2", "repeats: two")),
            "exp.yaml: repeats: 'two' is not an integer");
  EXPECT_EQ(error_of(replace(kValid, "max_seconds: 5", "max_seconds: [5]")),
            "exp.yaml: workloads.long.max_seconds: a list is not a number");
  EXPECT_NE(error_of(replace(kValid, "device: cpu", "device: tpu")).find("exp.yaml: device: 'tpu'"),
            std::string::npos);
}

TEST(Experiment, NamesMustBeFolderNames) {
  std::string msg = error_of(replace(kValid, "name: tiny", "name: 'ti ny'"));
  EXPECT_NE(msg.find("exp.yaml: models[0].name: 'ti ny' is not a valid name"), std::string::npos)
      << msg;
  msg = error_of(replace(kValid, "  long:", "  long/x:"));
  EXPECT_NE(msg.find("exp.yaml: workloads.long/x: 'long/x' is not a valid name"), std::string::npos)
      << msg;
  msg = error_of(replace(kValid, "  no-offload:", "  ..:"));
  EXPECT_NE(msg.find("exp.yaml: configs...: '..' is not a valid name"), std::string::npos) << msg;
}

TEST(Experiment, ModelsAndWorkloadsAreRequired) {
  std::string msg = error_of(replace(kValid, "models:\n  - {name: tiny, preset: tiny}\n", ""));
  EXPECT_EQ(msg.rfind("exp.yaml: models: missing", 0), 0u) << msg;
  const std::string text = kValid;
  msg = error_of(text.substr(0, text.find("workloads:")));
  EXPECT_EQ(msg.rfind("exp.yaml: workloads: missing", 0), 0u) << msg;
  msg = error_of(replace(kValid, "preset: tiny", "preset: llama"));
  EXPECT_NE(msg.find("exp.yaml: models[0].preset: 'llama' is not a preset"), std::string::npos);
  msg = error_of(replace(kValid, "{name: tiny, preset: tiny}", "{name: tiny}"));
  EXPECT_NE(msg.find("exp.yaml: models[0]: give exactly one of 'path'"), std::string::npos) << msg;
}

TEST(Experiment, SweepOfAnUnknownKeyIsAnError) {
  const std::string msg = error_of(replace(kValid, "key: num_cpu_blocks", "key: num_gpu_blocks"));
  EXPECT_NE(msg.find("exp.yaml: configs.native-offload.sweep.key: 'num_gpu_blocks' is neither a "
                     "flag of config 'native-offload'"),
            std::string::npos)
      << msg;
  // A flag the config sets can be swept; so can it with its leading dashes.
  auto e = parse(replace(kValid, "key: num_cpu_blocks", "key: --num-gpu-blocks-override"));
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_FALSE(e->configs[1].sweep->extra_config);
  EXPECT_EQ(e->configs[1].sweep->key, "num-gpu-blocks-override");
}

TEST(Experiment, TargetsExcludeSeveralEngines) {
  const std::string text = R"(
name: ext
targets: {url: "http://127.0.0.1:8000"}
topology: {engines: 2}
workloads:
  w: {rates: [1], max_seconds: 1}
)";
  const std::string msg = error_of(text);
  EXPECT_EQ(msg.rfind("exp.yaml: topology: targets and a topology", 0), 0u) << msg;
  // Without the topology it is valid: one default config and model label, the metrics URL
  // derived from the target's.
  auto e = parse(replace(text, "topology: {engines: 2}\n", ""));
  ASSERT_TRUE(e.has_value()) << e.error().message();
  ASSERT_TRUE(e->target.has_value());
  EXPECT_EQ(e->target->metrics, std::vector<std::string>{"http://127.0.0.1:8000/metrics"});
  EXPECT_EQ(e->configs.size(), 1u);
  EXPECT_EQ(e->models.size(), 1u);
  // A config of a target is a label: flags have nowhere to go.
  const std::string flagged =
      error_of(replace(text, "topology: {engines: 2}\n", "configs: {vllm: {max-num-seqs: 4}}\n"));
  EXPECT_NE(flagged.find("exp.yaml: configs.vllm.max-num-seqs: with targets"), std::string::npos)
      << flagged;
}

TEST(Experiment, FlagsEvalSetsItselfAreRejected) {
  const std::string msg = error_of(replace(kValid, "no-offload: {num-gpu-blocks-override: 160}",
                                           "no-offload: {port: 9000}"));
  EXPECT_EQ(msg, "exp.yaml: configs.no-offload.port: --port is set by eval for every engine");
}

TEST(Experiment, BaselineMustNameAConfig) {
  EXPECT_EQ(error_of(std::string(kValid) + "baseline: nope\n"),
            "exp.yaml: baseline: 'nope' is not one of the configs");
  auto e = parse(std::string(kValid) + "baseline: native-offload\n");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->baseline, "native-offload");
}

TEST(Experiment, RouterTopologyResolvesItsConfigBesideTheFile) {
  auto e = parse_experiment(std::string(kValid) + "topology: {engines: 2, router: {config: p.yaml}}\n",
                            "dir/exp.yaml", "dir");
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ(e->topology.engines, 2);
  EXPECT_TRUE(e->topology.router);
  EXPECT_EQ(e->topology.router_config, std::filesystem::path("dir/p.yaml"));
}

TEST(Experiment, FirstDifferenceNamesTheKeyPath) {
  auto a = parse(kValid);
  auto b = parse(replace(kValid, "rates: [1, 2]", "rates: [1, 3]"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(first_difference(a->document, b->document), "workloads.long.rates[1]");
  EXPECT_EQ(first_difference(a->document, a->document), "");
}

}  // namespace
}  // namespace kvtier::eval
