#include "kv/events/events_config.h"

#include <string>

#include <gtest/gtest.h>

namespace kvtier::kv {
namespace {

void expect_error(const std::string& json, const std::string& key) {
  auto config = parse_kv_events_config(json);
  ASSERT_FALSE(config.has_value()) << json;
  EXPECT_NE(config.error().message().find(key), std::string::npos)
      << "message does not name " << key << ": " << config.error().message();
}

TEST(KvEventsConfig, DefaultsFollowVllm) {
  auto empty = parse_kv_events_config("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->enable_kv_cache_events);
  EXPECT_EQ(empty->publisher, "null");

  auto on = parse_kv_events_config(R"({"enable_kv_cache_events":true})");
  ASSERT_TRUE(on.has_value());
  EXPECT_EQ(on->publisher, "zmq");
  EXPECT_EQ(on->endpoint, "tcp://*:5557");
  EXPECT_EQ(on->replay_endpoint, std::nullopt);
  EXPECT_EQ(on->buffer_steps, 10000);
  EXPECT_EQ(on->hwm, 100000);
  EXPECT_EQ(on->max_queue_size, 100000);
  EXPECT_EQ(on->topic, "");
}

TEST(KvEventsConfig, ReadsEveryKey) {
  auto config = parse_kv_events_config(
      R"({"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://indexer:5557",)"
      R"("replay_endpoint":"tcp://*:5558","buffer_steps":50,"hwm":10,"max_queue_size":7,"topic":"kv@pod@model"})");
  ASSERT_TRUE(config.has_value()) << config.error().to_string();
  EXPECT_TRUE(config->enable_kv_cache_events);
  EXPECT_EQ(config->endpoint, "tcp://indexer:5557");
  EXPECT_EQ(config->replay_endpoint, "tcp://*:5558");
  EXPECT_EQ(config->buffer_steps, 50);
  EXPECT_EQ(config->hwm, 10);
  EXPECT_EQ(config->max_queue_size, 7);
  EXPECT_EQ(config->topic, "kv@pod@model");
  auto null_publisher =
      parse_kv_events_config(R"({"enable_kv_cache_events":true,"publisher":"null"})");
  ASSERT_TRUE(null_publisher.has_value());
  EXPECT_EQ(null_publisher->publisher, "null");
}

TEST(KvEventsConfig, RejectsBadValuesNamingTheKey) {
  expect_error("{", "--kv-events-config");
  expect_error("[]", "--kv-events-config");
  expect_error(R"({"enable_kv_cache_events":"yes"})", "enable_kv_cache_events");
  expect_error(R"({"publisher":"kafka"})", "publisher");
  expect_error(R"({"endpoint":5557})", "endpoint");
  expect_error(R"({"endpoint":"localhost:5557"})", "endpoint");
  expect_error(R"({"replay_endpoint":"udp://x"})", "replay_endpoint");
  expect_error(R"({"endpoint":"tcp://*:99999"})", "endpoint");
  expect_error(R"({"endpoint":"tcp://*:"})", "endpoint");
  expect_error(R"({"endpoint":"tcp://host:55x"})", "endpoint");
  expect_error(R"({"endpoint":"ipc://"})", "endpoint");
  expect_error(R"({"buffer_steps":-1})", "buffer_steps");
  expect_error(R"({"hwm":1.5})", "hwm");
  expect_error(R"({"max_queue_size":0})", "max_queue_size");
  expect_error(R"({"max_queue_size":4294967296})", "max_queue_size");
  expect_error(R"({"topic":["a"]})", "topic");
  expect_error(R"({"enable_kv_cache_event":true})", "enable_kv_cache_event");
}

}  // namespace
}  // namespace kvtier::kv
