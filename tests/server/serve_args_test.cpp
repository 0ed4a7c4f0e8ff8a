// `kvtier serve` flags: argparse-style prefixes, the seed's two command lines, vLLM's defaults.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "server/api_request.h"
#include "server/arg_prefix.h"
#include "server/serve_args.h"

namespace kvtier::server {
namespace {

const std::vector<std::string> kKnown = {"--max-num-seqs", "--max-num-batched-tokens",
                                         "--max-model-len", "--port", "--kv-transfer-config",
                                         "--kv-events-config"};

TEST(ArgPrefix, ExpandsUnambiguousPrefixes) {
  auto out = expand_option_prefixes({"model", "--max-num-seq", "1024", "--po=9", "--kv-t", "{}"},
                                     kKnown);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(*out, (std::vector<std::string>{"model", "--max-num-seqs", "1024", "--port=9",
                                            "--kv-transfer-config", "{}"}));
}

TEST(ArgPrefix, ExactNamesAndSnakeCaseWin) {
  auto out = expand_option_prefixes({"--port", "1", "--max_model_len", "7", "--max_num_seq=3"},
                                    kKnown);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (std::vector<std::string>{"--port", "1", "--max-model-len", "7",
                                            "--max-num-seqs=3"}));
}

TEST(ArgPrefix, AmbiguousPrefixIsAnErrorListingCandidates) {
  auto out = expand_option_prefixes({"--max-num", "5"}, kKnown);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message(),
            "ambiguous option: --max-num could match --max-num-seqs, --max-num-batched-tokens");
  EXPECT_FALSE(expand_option_prefixes({"--kv", "{}"}, kKnown));
}

TEST(ArgPrefix, LeavesUnknownOptionsValuesAndTheRestAfterDoubleDash) {
  auto out = expand_option_prefixes({"--bogus", "-tp", "1", "--", "--po"}, kKnown);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (std::vector<std::string>{"--bogus", "-tp", "1", "--", "--po"}));
}

std::vector<std::string> split(const std::string& line) {
  // The seed's lines, with `vllm serve` replaced by `kvtier serve` and the model by a folder.
  std::vector<std::string> out;
  std::string word;
  bool quoted = false;
  for (char c : line) {
    if (c == '\'') {
      quoted = !quoted;
    } else if (c == ' ' && !quoted) {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

TEST(ServeArgs, SeedNativeOffloadCommandParses) {
  auto args = split(
      "/models/qwen3-0.6b --tensor-parallel-size 1 --port 8000 --max-num-seq 1024 "
      "--kv-transfer-config '{\"kv_connector\":\"OffloadingConnector\",\"kv_role\":\"kv_both\","
      "\"kv_connector_extra_config\":{\"num_cpu_blocks\":10000}}'");
  ServeArgs parsed = parse_serve_args(args);
  ASSERT_TRUE(parsed.options) << parsed.message;
  const ServeOptions& o = *parsed.options;
  EXPECT_EQ(o.engine.model_dir, "/models/qwen3-0.6b");
  EXPECT_EQ(o.http.port, 8000);
  EXPECT_EQ(o.engine.max_num_seqs, 1024);
  EXPECT_TRUE(o.max_num_seqs_set);
  EXPECT_EQ(o.engine.kv_transfer_config,
            "{\"kv_connector\":\"OffloadingConnector\",\"kv_role\":\"kv_both\","
            "\"kv_connector_extra_config\":{\"num_cpu_blocks\":10000}}");
  EXPECT_EQ(o.api.served_model_names, std::vector<std::string>{"/models/qwen3-0.6b"});
}

TEST(ServeArgs, SeedBaselineCommandParsesWithVllmDefaults) {
  ServeArgs parsed = parse_serve_args(
      split("/models/qwen3-0.6b --tensor-parallel-size 1 --port 8000 --max-num-seq 1024"));
  ASSERT_TRUE(parsed.options) << parsed.message;
  ServeOptions o = *parsed.options;
  EXPECT_TRUE(o.engine.kv_transfer_config.empty());
  EXPECT_EQ(o.engine.block_size, 16);
  EXPECT_TRUE(o.engine.enable_prefix_caching);
  EXPECT_TRUE(o.engine.enable_chunked_prefill);
  EXPECT_DOUBLE_EQ(o.engine.gpu_memory_utilization, 0.9);
  EXPECT_EQ(o.http.host, "0.0.0.0");
  EXPECT_EQ(o.generation_config, "auto");
  o.engine.device = "cpu";
  apply_device_defaults(o, 0);
  EXPECT_EQ(o.engine.max_num_seqs, 1024);  // set on the command line
  EXPECT_EQ(o.engine.max_num_batched_tokens, 2048);
}

TEST(ServeArgs, DeviceDefaultsFollowVllm) {
  ServeArgs parsed = parse_serve_args({"m"});
  ASSERT_TRUE(parsed.options);
  ServeOptions cpu = *parsed.options;
  cpu.engine.device = "cpu";
  apply_device_defaults(cpu, 0);
  EXPECT_EQ(cpu.engine.max_num_seqs, 256);
  EXPECT_EQ(cpu.engine.max_num_batched_tokens, 2048);
  ServeOptions h200 = *parsed.options;
  h200.engine.device = "cuda";
  apply_device_defaults(h200, 139.8);
  EXPECT_EQ(h200.engine.max_num_seqs, 1024);
  EXPECT_EQ(h200.engine.max_num_batched_tokens, 8192);
  ServeOptions l4 = *parsed.options;
  l4.engine.device = "cuda";
  apply_device_defaults(l4, 22);
  EXPECT_EQ(l4.engine.max_num_seqs, 256);
}

TEST(ServeArgs, MapsEveryFlag) {
  ServeArgs parsed = parse_serve_args(
      {"--model", "/m", "--host", "127.0.0.1", "--port=9001", "--served-model-name", "a", "b",
       "--tokenizer", "/tok", "--max-num-batched-tokens", "4096", "--max-model-len", "512",
       "--block-size", "32", "--gpu-memory-utilization", "0.5", "--num-gpu-blocks-override", "77",
       "--no-enable-prefix-caching", "--no-enable-chunked-prefill", "--kv-events-config",
       "{\"enable_kv_cache_events\":true}", "--kv-offloading-size", "2.5",
       "--kv-offloading-backend", "native", "--device", "cpu", "--dtype", "bfloat16", "--seed",
       "7", "--api-key", "k", "--enable-prompt-tokens-details", "--disable-log-requests",
       "--disable-log-stats", "--uvicorn-log-level", "warning", "--max-log-len", "100",
       "--trust-remote-code", "--generation-config", "vllm", "--shutdown-timeout", "5",
       "--http-threads", "3", "--tokenizer-threads", "4", "--kv-cache-memory-bytes", "1048576",
       "--max-logprobs", "5"});
  ASSERT_TRUE(parsed.options) << parsed.message;
  const ServeOptions& o = *parsed.options;
  EXPECT_EQ(o.engine.model_dir, "/m");
  EXPECT_EQ(o.http.host, "127.0.0.1");
  EXPECT_EQ(o.http.port, 9001);
  EXPECT_EQ(o.api.served_model_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.engine.served_model_name, "a");
  EXPECT_EQ(o.engine.tokenizer_dir, "/tok");
  EXPECT_EQ(o.engine.max_num_batched_tokens, 4096);
  EXPECT_FALSE(o.max_num_seqs_set);
  EXPECT_EQ(o.engine.max_model_len, 512);
  EXPECT_EQ(o.engine.block_size, 32);
  EXPECT_DOUBLE_EQ(o.engine.gpu_memory_utilization, 0.5);
  EXPECT_EQ(o.engine.num_gpu_blocks_override, 77);
  EXPECT_FALSE(o.engine.enable_prefix_caching);
  EXPECT_FALSE(o.engine.enable_chunked_prefill);
  EXPECT_EQ(o.engine.kv_events_config, "{\"enable_kv_cache_events\":true}");
  EXPECT_EQ(o.engine.kv_offloading_size_gib, 2.5);
  EXPECT_EQ(o.engine.kv_offloading_backend, "native");
  EXPECT_EQ(o.engine.device, "cpu");
  EXPECT_EQ(o.engine.dtype, "bfloat16");
  EXPECT_EQ(o.engine.seed, 7u);
  EXPECT_EQ(o.api.api_key, "k");
  EXPECT_TRUE(o.api.enable_prompt_tokens_details);
  EXPECT_FALSE(o.api.log_requests);
  EXPECT_FALSE(o.log_stats);
  EXPECT_EQ(o.api.max_log_len, 100);
  EXPECT_EQ(o.generation_config, "vllm");
  EXPECT_DOUBLE_EQ(o.shutdown_timeout_s, 5);
  EXPECT_EQ(o.http.io_threads, 3);
  EXPECT_EQ(o.tokenizer_threads, 4);
  EXPECT_EQ(o.engine.cpu_kv_cache_bytes, 1048576);
  EXPECT_EQ(o.engine.max_logprobs, 5);
  EXPECT_EQ(o.api.sampling_defaults.max_logprobs, 5);
}

TEST(ServeArgs, ErrorsAreClear) {
  auto tp = parse_serve_args({"m", "--tensor-parallel-size", "2"});
  EXPECT_FALSE(tp.options);
  EXPECT_EQ(tp.exit_code, 2);
  EXPECT_NE(tp.message.find("--tensor-parallel-size 2 is not supported"), std::string::npos)
      << tp.message;

  auto json = parse_serve_args({"m", "--kv-transfer-config", "{not json"});
  EXPECT_FALSE(json.options);
  EXPECT_NE(json.message.find("--kv-transfer-config must be a JSON object"), std::string::npos);

  auto ambiguous = parse_serve_args({"m", "--max-num", "3"});
  EXPECT_FALSE(ambiguous.options);
  EXPECT_NE(ambiguous.message.find("ambiguous option"), std::string::npos);

  auto unknown = parse_serve_args({"m", "--no-such-flag"});
  EXPECT_FALSE(unknown.options);
  EXPECT_EQ(unknown.exit_code, 2);

  auto no_model = parse_serve_args({"--port", "1"});
  EXPECT_FALSE(no_model.options);
  EXPECT_NE(no_model.message.find("MODEL is required"), std::string::npos);

  auto device = parse_serve_args({"m", "--device", "tpu"});
  EXPECT_FALSE(device.options);

  auto generation = parse_serve_args({"m", "--generation-config", "/some/dir"});
  EXPECT_FALSE(generation.options);
}

// --load-format dummy: MODEL may name a preset, which has no folder and so no tokenizer of its
// own: the bundled Qwen3 tokenizer stands in unless --tokenizer names one.
TEST(ServeArgs, LoadFormatDummyServesAPreset) {
  auto preset = parse_serve_args({"qwen3-8b", "--load-format", "dummy"});
  ASSERT_TRUE(preset.options) << preset.message;
  EXPECT_EQ(preset.options->engine.load_format, "dummy");
  EXPECT_EQ(preset.options->engine.model_dir, "qwen3-8b");
  EXPECT_FALSE(preset.options->engine.tokenizer_dir.empty());
  EXPECT_EQ(preset.options->api.served_model_names.front(), "qwen3-8b");

  auto own = parse_serve_args({"qwen3-8b", "--load-format", "dummy", "--tokenizer", "/tok"});
  ASSERT_TRUE(own.options);
  EXPECT_EQ(own.options->engine.tokenizer_dir, "/tok");

  // Without dummy weights a preset name is just a (missing) folder: no tokenizer is guessed.
  auto plain = parse_serve_args({"qwen3-8b"});
  ASSERT_TRUE(plain.options);
  EXPECT_EQ(plain.options->engine.load_format, "auto");
  EXPECT_TRUE(plain.options->engine.tokenizer_dir.empty());

  auto bad = parse_serve_args({"m", "--load-format", "npcache"});
  EXPECT_FALSE(bad.options);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.message.find("--load-format npcache"), std::string::npos) << bad.message;
}

TEST(ServeArgs, HelpExitsZeroWithTheFlags) {
  auto help = parse_serve_args({"--help"});
  EXPECT_FALSE(help.options);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.message.find("--max-num-seqs"), std::string::npos);
  EXPECT_NE(help.message.find("--kv-transfer-config"), std::string::npos);
}

TEST(ServeArgs, ApiKeyComesFromTheEnvironment) {
  ::setenv("VLLM_API_KEY", "from-env", 1);
  auto parsed = parse_serve_args({"m"});
  ::unsetenv("VLLM_API_KEY");
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->api.api_key, "from-env");
}

TEST(ServeArgs, GenerationConfigProvidesSamplingDefaults) {
  auto dir = std::filesystem::temp_directory_path() / "kvtier_serve_args_genconfig";
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "generation_config.json");
    out << R"({"do_sample": true, "temperature": 0.6, "top_k": 20, "top_p": 0.95,
               "eos_token_id": [151645, 151643]})";
  }
  auto defaults = read_generation_config(dir);
  ASSERT_TRUE(defaults) << defaults.error().message();
  EXPECT_FLOAT_EQ(*defaults->temperature, 0.6f);
  EXPECT_EQ(*defaults->top_k, 20);
  EXPECT_FLOAT_EQ(*defaults->top_p, 0.95f);
  EXPECT_FALSE(defaults->min_p);
  EXPECT_FALSE(defaults->max_tokens);
  {
    std::ofstream out(dir / "generation_config.json");
    out << R"({"temperature": "hot"})";
  }
  auto bad = read_generation_config(dir);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("temperature must be a number"), std::string::npos);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(read_generation_config(dir));  // no file: no defaults
}

}  // namespace
}  // namespace kvtier::server
