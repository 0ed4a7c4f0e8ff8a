#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include "kv/events/event_batch.h"

namespace kvtier::kv {
namespace {

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

void append(std::vector<uint8_t>& out, std::initializer_list<uint8_t> b) {
  out.insert(out.end(), b);
}
void append_str(std::vector<uint8_t>& out, const std::string& s) {
  out.push_back(uint8_t(0xa0 | s.size()));  // fixstr: every name here is under 32 bytes
  out.insert(out.end(), s.begin(), s.end());
}

// The batch's bytes, written out from the msgpack spec for the layout msgspec produces for
// vLLM's array_like, tagged structs.
TEST(EventCodec, MatchesVllmsWireBytes) {
  BlockStoredEvent stored;
  stored.block_hashes = {1, 0xFFFFFFFFFFFFFFFFull};
  stored.parent_block_hash = 7;
  stored.token_ids = {1, 300};
  stored.block_size = 16;
  stored.medium = "GPU";
  KvEventBatch batch{1.5, {stored, BlockRemovedEvent{{2}, "CPU"}, AllBlocksClearedEvent{}}, 0};

  std::vector<uint8_t> want;
  append(want, {0x93});                                // [ts, events, rank]
  append(want, {0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0});  // 1.5 as float64
  append(want, {0x93});                                // three events
  append(want, {0x98});                                // BlockStored: tag + 7 fields
  append_str(want, "BlockStored");
  append(want, {0x92, 0x01, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});  // hashes
  append(want, {0x07});                                                              // parent
  append(want, {0x92, 0x01, 0xcd, 0x01, 0x2c});  // token ids 1, 300
  append(want, {0x10});                          // block_size 16
  append(want, {0xc0});                          // lora_id nil
  append_str(want, "GPU");
  append(want, {0xc0});  // lora_name nil
  append(want, {0x93});  // BlockRemoved
  append_str(want, "BlockRemoved");
  append(want, {0x91, 0x02});
  append_str(want, "CPU");
  append(want, {0x91});  // AllBlocksCleared
  append_str(want, "AllBlocksCleared");
  append(want, {0x00});  // data_parallel_rank 0
  EXPECT_EQ(bytes_of(encode_event_batch(batch)), want);
}

TEST(EventCodec, KeepsIntegralTimestampsAsFloat64AndOmitsAnUnsetRank) {
  KvEventBatch batch{2.0, {}, std::nullopt};
  const std::vector<uint8_t> want = {0x92, 0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x90};
  EXPECT_EQ(bytes_of(encode_event_batch(batch)), want);
}

TEST(EventCodec, DecodesBackWithAStandardMsgpackReader) {
  BlockStoredEvent stored;
  stored.block_hashes = {0x8000000000000000ull};
  stored.token_ids = std::vector<int32_t>(16, 151643);
  stored.medium = "CPU";
  KvEventBatch batch{1764400000.25, {stored}, 3};
  const std::string wire = encode_event_batch(batch);
  msgpack::object_handle handle = msgpack::unpack(wire.data(), wire.size());
  const msgpack::object& root = handle.get();
  ASSERT_EQ(root.type, msgpack::type::ARRAY);
  ASSERT_EQ(root.via.array.size, 3u);
  EXPECT_EQ(root.via.array.ptr[0].type, msgpack::type::FLOAT64);
  EXPECT_DOUBLE_EQ(root.via.array.ptr[0].as<double>(), 1764400000.25);
  EXPECT_EQ(root.via.array.ptr[2].as<int>(), 3);
  const msgpack::object& event = root.via.array.ptr[1].via.array.ptr[0];
  ASSERT_EQ(event.via.array.size, 8u);
  EXPECT_EQ(event.via.array.ptr[0].as<std::string>(), "BlockStored");
  EXPECT_EQ(event.via.array.ptr[1].as<std::vector<uint64_t>>(), stored.block_hashes);
  EXPECT_TRUE(event.via.array.ptr[2].is_nil());
  EXPECT_EQ(event.via.array.ptr[3].as<std::vector<int32_t>>(), stored.token_ids);
  EXPECT_EQ(event.via.array.ptr[4].as<int>(), 16);
  EXPECT_EQ(event.via.array.ptr[6].as<std::string>(), "CPU");
}

}  // namespace
}  // namespace kvtier::kv
