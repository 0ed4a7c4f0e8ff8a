// Hostile EndpointPickerConfig files: alias bombs, deep nesting and oversized documents are
// refused with an error naming the file, before anything is expanded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "router/picker_config.h"

namespace kvtier::router {
namespace {

const char* kHeader = R"(apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: q
  - pluginRef: max-score-picker
)";

// "Billion laughs": nine levels of ten aliases each expand to 10^9 scalars.
std::string alias_bomb() {
  std::string doc = kHeader;
  doc += "x0: &a0 [lol]\n";
  for (int i = 1; i <= 9; ++i) {
    doc += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) doc += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    doc += "]\n";
  }
  doc +=
      "plugins:\n- name: q\n  type: queue-scorer\n  parameters: {bomb: *a9}\n"
      "- type: max-score-picker\n";
  return doc;
}

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("kvtier_hostile_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(HostilePickerConfig, AliasBombIsRefusedWithTheFileName) {
  const auto path = write_temp("bomb.yaml", alias_bomb());
  auto config = load_picker_config(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.error().message().find(path.string()), std::string::npos)
      << config.error().message();
  EXPECT_NE(config.error().message().find("alias"), std::string::npos) << config.error().message();
}

// yaml-cpp hands out an empty document for a stray top-level ',' and never moves past it: the
// size check must read only the first document (the one YAML::Load takes), not loop on them.
TEST(HostilePickerConfig, StrayCommaIsNotAMapRatherThanEndlessDocuments) {
  for (const char* text : {",", ",a"}) {
    auto config = parse_picker_config(text, "comma.yaml");
    ASSERT_FALSE(config) << text;
    EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(config.error().message().find("comma.yaml: an EndpointPickerConfig must be a YAML map"),
              std::string::npos)
        << config.error().message();
  }
}

// YAML allows any node as a key (`? {a: 1}`); a config's keys are names, and a key that is not
// one is an error naming where it is, not a conversion exception out of the parser.
TEST(HostilePickerConfig, KeysThatAreNotNamesAreRefused) {
  const std::string params = std::string(kHeader) +
                             "plugins:\n- name: q\n  type: queue-scorer\n  parameters:\n"
                             "    ? {a: 1}\n    : 2\n- type: max-score-picker\n";
  const std::string top = std::string(kHeader) + "? [x]\n: 1\n";
  for (const std::string& text : {params, top}) {
    auto config = parse_picker_config(text, "keys.yaml");
    ASSERT_FALSE(config) << text;
    EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(config.error().message().find("keys.yaml:"), std::string::npos)
        << config.error().message();
  }
}

TEST(HostilePickerConfig, SmallAliasesStillWork) {
  std::string doc = std::string(kHeader) +
                    "plugins:\n- name: q\n  type: prefix-cache-scorer\n  parameters: &p\n"
                    "    blockSize: 32\n- name: q2\n  type: prefix-cache-scorer\n"
                    "  parameters: *p\n- type: max-score-picker\n";
  auto config = parse_picker_config(doc, "small.yaml");
  ASSERT_TRUE(config) << config.error().message();
  ASSERT_EQ(config->plugins.size(), 3u);
  EXPECT_EQ(config->plugins[1].parameters.value("blockSize", 0), 32);
}

TEST(HostilePickerConfig, DeepNestingIsRefused) {
  std::string doc = std::string(kHeader) +
                    "plugins:\n- name: q\n  type: queue-scorer\n"
                    "  parameters: {deep: " +
                    std::string(500, '[') + std::string(500, ']') + "}\n- type: max-score-picker\n";
  auto config = parse_picker_config(doc, "deep.yaml");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message().find("deep.yaml"), std::string::npos)
      << config.error().message();
  EXPECT_NE(config.error().message().find("nest"), std::string::npos) << config.error().message();
}

TEST(HostilePickerConfig, OversizedFileIsRefusedBeforeParsing) {
  std::string doc = std::string(kHeader) +
                    "plugins:\n- type: queue-scorer\n  name: q\n- type: max-score-picker\n# " +
                    std::string(8 << 20, 'x') + "\n";
  const auto path = write_temp("big.yaml", doc);
  auto config = load_picker_config(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message().find(path.string()), std::string::npos)
      << config.error().message();
  EXPECT_NE(config.error().message().find("bytes"), std::string::npos) << config.error().message();
}

}  // namespace
}  // namespace kvtier::router
