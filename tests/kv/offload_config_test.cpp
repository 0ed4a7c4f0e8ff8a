#include "kv/offload/offload_config.h"

#include <string>

#include <gtest/gtest.h>

#include "offload_fakes.h"

namespace kvtier::kv {
namespace {

using testing::small_layout;

// The seed's flag, verbatim.
constexpr const char* kSeedConfig =
    R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both","kv_connector_extra_config":{"num_cpu_blocks":10000}})";

Expected<std::optional<OffloadConfig>> parse(const std::string& json,
                                             std::optional<double> gib = std::nullopt,
                                             const std::string& backend = "") {
  OffloadOptions options;
  options.kv_transfer_config = json;
  options.kv_offloading_size_gib = gib;
  options.kv_offloading_backend = backend;
  return parse_offload_config(options, small_layout());
}

std::string with_extra(const std::string& extra) {
  return R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both","kv_connector_extra_config":)" +
         extra + "}";
}

// The parse fails and its message names `key`.
void expect_error(const Expected<std::optional<OffloadConfig>>& result, const std::string& key,
                  ErrorCode code = ErrorCode::kInvalidArgument) {
  ASSERT_FALSE(result.has_value()) << "expected an error naming " << key;
  EXPECT_EQ(result.error().code(), code) << result.error().to_string();
  EXPECT_NE(result.error().message().find(key), std::string::npos)
      << "message does not name " << key << ": " << result.error().message();
}

TEST(OffloadConfig, AcceptsTheSeedFlagVerbatim) {
  auto config = parse(kSeedConfig);
  ASSERT_TRUE(config.has_value()) << config.error().to_string();
  ASSERT_TRUE(config->has_value());
  EXPECT_EQ((*config)->num_cpu_blocks, 10000);
  EXPECT_EQ((*config)->eviction_policy, EvictionPolicyKind::kLru);
  EXPECT_EQ((*config)->role, KvRole::kBoth);
  EXPECT_EQ((*config)->block_size, 16);
  EXPECT_FALSE((*config)->store_prompt_only);
}

TEST(OffloadConfig, NothingConfiguredMeansNoTier) {
  for (const char* text : {"", "   ", "\n"}) {
    auto config = parse(text);
    ASSERT_TRUE(config.has_value());
    EXPECT_FALSE(config->has_value());
  }
  auto native_alone = parse("", std::nullopt, "native");
  ASSERT_TRUE(native_alone.has_value());
  EXPECT_FALSE(native_alone->has_value());
}

TEST(OffloadConfig, ReadsEveryExtraKey) {
  auto config = parse(with_extra(
      R"({"num_cpu_blocks":7,"eviction_policy":"arc","block_size":16,"store_prompt_only":true,)"
      R"("spec_name":"CPUOffloadingSpec","store_threshold":0})"));
  ASSERT_TRUE(config.has_value()) << config.error().to_string();
  EXPECT_EQ((*config)->num_cpu_blocks, 7);
  EXPECT_EQ((*config)->eviction_policy, EvictionPolicyKind::kArc);
  EXPECT_TRUE((*config)->store_prompt_only);
}

TEST(OffloadConfig, RolesMapToStoreAndLoadDirections) {
  auto producer = parse(
      R"({"kv_connector":"OffloadingConnector","kv_role":"kv_producer","kv_connector_extra_config":{"num_cpu_blocks":1}})");
  ASSERT_TRUE(producer.has_value());
  EXPECT_EQ((*producer)->role, KvRole::kProducer);
  auto consumer = parse(
      R"({"kv_connector":"OffloadingConnector","kv_role":"kv_consumer","kv_connector_extra_config":{"num_cpu_blocks":1}})");
  ASSERT_TRUE(consumer.has_value());
  EXPECT_EQ((*consumer)->role, KvRole::kConsumer);
}

TEST(OffloadConfig, SizesTheTierFromGibAndFromBytes) {
  const size_t block = small_layout().block_bytes();  // 8 KiB
  auto by_gib = parse("", 0.5, "native");
  ASSERT_TRUE(by_gib.has_value()) << by_gib.error().to_string();
  EXPECT_EQ((*by_gib)->num_cpu_blocks, int32_t((size_t(1) << 29) / block));
  EXPECT_EQ((*by_gib)->role, KvRole::kBoth);

  auto by_bytes = parse(with_extra(R"({"cpu_bytes_to_use":100000})"));
  ASSERT_TRUE(by_bytes.has_value()) << by_bytes.error().to_string();
  EXPECT_EQ((*by_bytes)->num_cpu_blocks, int32_t(100000 / block));

  // --kv-offloading-size with a transfer config that only picks the policy.
  auto both = parse(with_extra(R"({"eviction_policy":"arc"})"), 0.25);
  ASSERT_TRUE(both.has_value()) << both.error().to_string();
  EXPECT_EQ((*both)->num_cpu_blocks, int32_t((size_t(1) << 28) / block));
  EXPECT_EQ((*both)->eviction_policy, EvictionPolicyKind::kArc);
}

TEST(OffloadConfig, RejectsBadJson) {
  expect_error(parse("{\"kv_connector\":"), "--kv-transfer-config");
  expect_error(parse("[1,2]"), "JSON object");
  expect_error(parse("not json"), "not valid JSON");
}

TEST(OffloadConfig, RejectsUnknownConnectorAndRole) {
  expect_error(parse(R"({"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"})"),
               "kv_connector", ErrorCode::kUnimplemented);
  expect_error(parse(R"({"kv_connector":42,"kv_role":"kv_both"})"), "kv_connector",
               ErrorCode::kUnimplemented);
  expect_error(parse(R"({"kv_role":"kv_both","kv_connector_extra_config":{"num_cpu_blocks":4}})"),
               "kv_connector");
  expect_error(parse(R"({"kv_connector":"OffloadingConnector","kv_role":"kv_sideways",)"
                     R"("kv_connector_extra_config":{"num_cpu_blocks":4}})"),
               "kv_role");
  expect_error(
      parse(
          R"({"kv_connector":"OffloadingConnector","kv_connector_extra_config":{"num_cpu_blocks":4}})"),
      "kv_role");
  expect_error(parse(R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both","kv_rnak":0,)"
                     R"("kv_connector_extra_config":{"num_cpu_blocks":4}})"),
               "kv_rnak");
}

TEST(OffloadConfig, RejectsBadBlockCounts) {
  expect_error(parse(with_extra(R"({"num_cpu_blocks":0})")), "num_cpu_blocks");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":-3})")), "num_cpu_blocks");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":10.5})")), "num_cpu_blocks");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":"10000"})")), "num_cpu_blocks");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":true})")), "num_cpu_blocks");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":3000000000})")), "num_cpu_blocks");
  expect_error(parse(with_extra(R"({"eviction_policy":"lru"})")), "num_cpu_blocks");
  expect_error(parse(with_extra(R"({"cpu_bytes_to_use":-1})")), "cpu_bytes_to_use");
  expect_error(parse(with_extra(R"({"cpu_bytes_to_use":100})")),
               "cpu_bytes_to_use");  // less than a block
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"cpu_bytes_to_use":1e9})")),
               "cpu_bytes_to_use");
}

TEST(OffloadConfig, RejectsContradictorySizes) {
  expect_error(parse(kSeedConfig, 4.0), "--kv-offloading-size");
  expect_error(parse(kSeedConfig, 4.0), "num_cpu_blocks");
  expect_error(parse(with_extra(R"({"cpu_bytes_to_use":1e9})"), 1.0), "cpu_bytes_to_use");
  expect_error(parse("", 0.0), "--kv-offloading-size");
  expect_error(parse("", -2.0), "--kv-offloading-size");
  expect_error(parse("", 1e-9), "--kv-offloading-size");  // not one block
}

TEST(OffloadConfig, RejectsOtherBackends) {
  expect_error(parse("", 1.0, "lmcache"), "--kv-offloading-backend", ErrorCode::kUnimplemented);
  expect_error(parse("", 1.0, "nvme"), "--kv-offloading-backend");
}

TEST(OffloadConfig, RejectsBadExtraKeys) {
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"eviction_policy":"lfu"})")),
               "eviction_policy");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"eviction_policy":1})")), "eviction_policy");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"num_cpu_block":4})")), "num_cpu_block");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"store_prompt_only":"yes"})")),
               "store_prompt_only");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"spec_name":"DiskSpec"})")), "spec_name",
               ErrorCode::kUnimplemented);
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"store_threshold":2})")), "store_threshold",
               ErrorCode::kUnimplemented);
  expect_error(parse(with_extra("[1]")), "kv_connector_extra_config");
}

TEST(OffloadConfig, BlockSizeIsAMultipleOfTheGpuBlockSize) {
  auto four = parse(with_extra(R"({"num_cpu_blocks":4,"block_size":64})"));
  ASSERT_TRUE(four.has_value()) << four.error().to_string();
  EXPECT_EQ((*four)->block_size, 64);
  EXPECT_EQ((*four)->blocks_per_group(small_layout()), 4);
  EXPECT_EQ((*four)->num_cpu_blocks, 4);  // CPU blocks, not GPU blocks

  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"block_size":24})")), "block_size");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"block_size":8})")), "block_size");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"block_size":0})")), "block_size");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"block_size":"64"})")), "block_size");
  expect_error(parse(with_extra(R"({"num_cpu_blocks":4,"block_size":1048576})")), "block_size");
  // k GPU-sized host slots per CPU block must still be countable.
  expect_error(parse(with_extra(R"({"num_cpu_blocks":2000000000,"block_size":64})")), "CPU blocks");
}

TEST(OffloadConfig, ByteSizesCountCpuBlocksOfTheirOwnSize) {
  const size_t block = small_layout().block_bytes();
  auto by_bytes = parse(with_extra(R"({"cpu_bytes_to_use":1000000,"block_size":64})"));
  ASSERT_TRUE(by_bytes.has_value()) << by_bytes.error().to_string();
  EXPECT_EQ((*by_bytes)->num_cpu_blocks, int32_t(1000000 / (4 * block)));
  auto by_gib = parse(with_extra(R"({"block_size":32})"), 0.5);
  ASSERT_TRUE(by_gib.has_value()) << by_gib.error().to_string();
  EXPECT_EQ((*by_gib)->num_cpu_blocks, int32_t((size_t(1) << 29) / (2 * block)));
  // Too small for one CPU block: the message names the size given.
  expect_error(parse(with_extra(R"({"cpu_bytes_to_use":10000,"block_size":64})")),
               "cpu_bytes_to_use");
}

}  // namespace
}  // namespace kvtier::kv
