// The real `kvtier serve` on the tiny model, over raw HTTP: the endpoints end to end, the seed's
// command lines, the CPU tier under a capped GPU pool, a client that vanishes mid-stream, and
// SIGTERM under load.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/serve_process.h"
#include "server/http_test_client.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The value of the first sample whose line starts with `prefix` (name and labels), or -1.
double metric(const std::string& text, const std::string& prefix) {
  size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      size_t space = text.find(' ', at + prefix.size());
      size_t end = text.find('\n', space);
      return std::stod(text.substr(space + 1, end - space - 1));
    }
    at += prefix.size();
  }
  return -1;
}

std::string run_command(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = tiny_model_dir();
    ASSERT_TRUE(std::filesystem::exists(model_ / "config.json"))
        << "kvtier make-model --preset tiny failed; see "
        << (model_.parent_path() / "make-model.log");
  }
  // Eight streaming requests, SIGTERM once all are accepted: every one finishes, the server
  // exits 0.
  void sigterm_during_load(const std::vector<std::string>& flags);

  std::filesystem::path model_;
};

TEST_F(ServeTest, EndpointsWorkEndToEnd) {
  ServeProcess serve(model_, {"--enable-prompt-tokens-details"});
  ASSERT_TRUE(serve.ready()) << serve.log();
  HttpTestClient c(serve.port(), 120s);

  EXPECT_EQ(c.request("GET", "/health").status, 200);
  auto models = json::parse(c.request("GET", "/v1/models").body);
  EXPECT_EQ(models["data"][0]["id"], model_.string());
  int max_model_len = models["data"][0]["max_model_len"];
  EXPECT_GT(max_model_len, 64);

  // Greedy decoding is deterministic; a text prompt and its token ids give the same output.
  std::string prompt = "The quick brown fox jumps over the lazy dog.";
  json request = {{"prompt", prompt}, {"max_tokens", 8}, {"temperature", 0}, {"ignore_eos", true}};
  auto first = c.request("POST", "/v1/completions", request.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  json a = json::parse(first.body);
  EXPECT_EQ(a["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(a["usage"]["completion_tokens"], 8);
  auto tokens = json::parse(c.request("POST", "/tokenize", json({{"prompt", prompt}}).dump()).body);
  EXPECT_EQ(a["usage"]["prompt_tokens"], tokens["count"]);
  request["prompt"] = tokens["tokens"];
  json b = json::parse(c.request("POST", "/v1/completions", request.dump()).body);
  EXPECT_EQ(b["choices"][0]["text"], a["choices"][0]["text"]);
  auto detok = json::parse(
      c.request("POST", "/detokenize", json({{"tokens", tokens["tokens"]}}).dump()).body);
  EXPECT_EQ(detok["prompt"], prompt);

  // The same request streamed gives the same text, chunk by chunk, then usage and [DONE].
  json streamed = {{"prompt", prompt}, {"max_tokens", 8}, {"temperature", 0},
                   {"ignore_eos", true}, {"stream", true},
                   {"stream_options", {{"include_usage", true}}}};
  auto s = c.request("POST", "/v1/completions", streamed.dump());
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.headers["content-type"], "text/event-stream; charset=utf-8");
  std::string text;
  json usage;
  for (size_t pos = 0; pos < s.body.size();) {
    size_t end = s.body.find("\n\n", pos);
    ASSERT_NE(end, std::string::npos);
    std::string data = s.body.substr(pos + 6, end - pos - 6);
    pos = end + 2;
    if (data == "[DONE]") {
      EXPECT_EQ(pos, s.body.size());
      break;
    }
    json chunk = json::parse(data);
    if (chunk["choices"].empty()) {
      usage = chunk["usage"];
    } else {
      text += chunk["choices"][0]["text"].get<std::string>();
    }
  }
  EXPECT_EQ(text, a["choices"][0]["text"]);
  EXPECT_EQ(usage["completion_tokens"], 8);

  // Chat through the model's own template, with logprobs.
  json chat = {{"messages", {{{"role", "user"}, {"content", "Hello!"}}}},
               {"max_completion_tokens", 5}, {"temperature", 0}, {"ignore_eos", true},
               {"logprobs", true}, {"top_logprobs", 2},
               {"chat_template_kwargs", {{"enable_thinking", false}}}};
  auto r = c.request("POST", "/v1/chat/completions", chat.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json reply = json::parse(r.body);
  EXPECT_EQ(reply["choices"][0]["message"]["role"], "assistant");
  json content = reply["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 5u);
  for (const auto& entry : content) {
    EXPECT_LE(entry["logprob"].get<double>(), 0.0);
    EXPECT_EQ(entry["top_logprobs"].size(), 2u);
    // Greedy: the chosen token is the most likely one.
    EXPECT_EQ(entry["top_logprobs"][0]["token"], entry["token"]);
  }

  // A repeated prompt hits the prefix cache and says so.
  json repeat = {{"prompt", std::string(400, 'a')}, {"max_tokens", 1}};
  c.request("POST", "/v1/completions", repeat.dump());
  json again = json::parse(c.request("POST", "/v1/completions", repeat.dump()).body);
  EXPECT_GT(again["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 0);

  auto bad = c.request("POST", "/v1/completions", R"({"prompt": "x", "temperature": -1})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"]["code"], 400);
  EXPECT_EQ(c.request("GET", "/nope").status, 404);

  // The engine publishes its counters at the end of each step, a moment after the step's
  // outputs went out: poll until the last request shows.
  std::string metrics;
  for (int i = 0; i < 1000; ++i) {
    metrics = c.request("GET", "/metrics").body;
    if (metric(metrics, "vllm:prefix_cache_hits_total") > 0) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(metric(metrics, "vllm:request_success_total{model_name=\"" + model_.string() +
                                "\",engine=\"0\",finished_reason=\"length\"}"),
            5);
  EXPECT_GE(metric(metrics, "vllm:generation_tokens_total"), 8 * 3 + 5);
  EXPECT_GT(metric(metrics, "vllm:prefix_cache_hits_total"), 0) << metrics;
  EXPECT_NE(metrics.find("vllm:cache_config_info{"), std::string::npos);
  EXPECT_EQ(metric(metrics, "vllm:num_requests_running"), 0);
}

TEST_F(ServeTest, SeedCommandLinesStartAServer) {
  // The seed's two `vllm serve` lines with `kvtier serve` and a model folder (port 0 here so
  // parallel tests do not collide).
  const std::string offload =
      R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
      R"("kv_connector_extra_config":{"num_cpu_blocks":10000}})";
  for (bool with_offload : {false, true}) {
    std::vector<std::string> flags = {"--tensor-parallel-size", "1", "--max-num-seq", "1024"};
    if (with_offload) {
      flags.push_back("--kv-transfer-config");
      flags.push_back(offload);
    }
    ServeProcess serve(model_, flags);
    ASSERT_TRUE(serve.ready()) << serve.log();
    HttpTestClient c(serve.port(), 120s);
    auto r = c.request("POST", "/v1/completions", R"({"prompt": "Hi", "max_tokens": 2})");
    EXPECT_EQ(r.status, 200) << r.body;
    std::string metrics = c.request("GET", "/metrics").body;
    if (with_offload) {
      EXPECT_NE(metrics.find("num_cpu_blocks=\"10000\""), std::string::npos) << metrics;
    } else {
      EXPECT_NE(metrics.find("num_cpu_blocks=\"None\""), std::string::npos) << metrics;
    }
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();
  }
}

// The value of the first sample of `name` whose labels contain `label` (e.g. a="b"), or -1.
double labeled_metric(const std::string& text, const std::string& name, const std::string& label) {
  size_t at = 0;
  while ((at = text.find(name + "{", at)) != std::string::npos) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if ((at == 0 || text[at - 1] == '\n') && line.find(label) != std::string::npos)
      return std::stod(line.substr(line.rfind(' ') + 1));
    at += name.size();
  }
  return -1;
}

// A GPU pool too small to keep three long prompts, with and without a CPU tier whose blocks hold
// four GPU blocks each (`block_size` 64): the tier serves the evicted prefix back, through the
// server and its metrics, and every greedy completion is the same as without the tier.
TEST_F(ServeTest, CpuTierOfLargerBlocksServesEvictedPrefixesWithIdenticalOutputs) {
  const std::string offload =
      R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
      R"("kv_connector_extra_config":{"num_cpu_blocks":64,"block_size":64}})";
  auto prompt = [](int seed) {
    json ids = json::array();
    for (int i = 0; i < 256; ++i) ids.push_back(10 + (seed * 7919 + i * 131) % 2000);
    return ids;
  };
  // P1, P2, P3 (which push most of P1 out of the 40 GPU blocks), then P1 and P2 again.
  const std::vector<int> order = {1, 2, 3, 1, 2};
  struct Arm {
    std::vector<std::string> texts;
    std::vector<int> cached;
    std::string metrics;
  };
  auto run_arm = [&](bool with_tier) {
    Arm arm;
    std::vector<std::string> flags = {"--num-gpu-blocks-override", "40", "--max-model-len",
                                      "512", "--block-size", "16", "--enable-prompt-tokens-details"};
    if (with_tier) {
      flags.push_back("--kv-transfer-config");
      flags.push_back(offload);
    }
    ServeProcess serve(model_, flags);
    EXPECT_TRUE(serve.ready()) << serve.log();
    if (!serve.ready()) return arm;
    HttpTestClient c(serve.port(), 120s);
    for (int p : order) {
      json body = {{"prompt", prompt(p)}, {"max_tokens", 8}, {"temperature", 0},
                   {"ignore_eos", true}};
      auto r = c.request("POST", "/v1/completions", body.dump());
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) return arm;
      json out = json::parse(r.body);
      arm.texts.push_back(out["choices"][0]["text"].get<std::string>());
      // As vLLM: no details when nothing was cached.
      const json& details = out["usage"]["prompt_tokens_details"];
      arm.cached.push_back(details.is_null() ? 0 : details["cached_tokens"].get<int>());
    }
    // Counters are published at the end of the step after the last output: poll for them.
    for (int i = 0; i < 500; ++i) {
      arm.metrics = c.request("GET", "/metrics").body;
      if (metric(arm.metrics, "vllm:num_requests_running") == 0 &&
          metric(arm.metrics, "vllm:prompt_tokens_total") >= 5 * 256)
        break;
      std::this_thread::sleep_for(10ms);
    }
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();
    return arm;
  };
  const Arm plain = run_arm(false);
  const Arm tiered = run_arm(true);
  ASSERT_EQ(plain.texts.size(), order.size());
  ASSERT_EQ(tiered.texts.size(), order.size());
  EXPECT_EQ(tiered.texts, plain.texts);
  // P1's repeat: part of it is gone from the GPU pool, the tier returns the rest, so the whole
  // prompt but its last token (computed again for its logits) is cached.
  EXPECT_LT(plain.cached[3], 255) << "P1 was not evicted: the test no longer tests the tier";
  EXPECT_EQ(tiered.cached[3], 255);
  const std::string hits = "vllm:external_prefix_cache_hits_total";
  EXPECT_GE(metric(tiered.metrics, hits), 64) << tiered.metrics;
  EXPECT_EQ(metric(plain.metrics, hits), 0);
  EXPECT_GT(labeled_metric(tiered.metrics, "vllm:kv_offload_total_bytes_total",
                           "transfer_type=\"CPU_to_GPU\""),
            0)
      << tiered.metrics;
  EXPECT_GT(labeled_metric(tiered.metrics, "vllm:kv_offload_total_bytes_total",
                           "transfer_type=\"GPU_to_CPU\""),
            0);
}

// The concatenated "text" of every `data:` event of a streamed completion.
std::string streamed_text(const std::string& body) {
  std::string text;
  size_t at = 0;
  while ((at = body.find("data: {", at)) != std::string::npos) {
    const size_t end = body.find("\n\n", at);
    json event = json::parse(body.substr(at + 6, end - at - 6));
    for (const json& choice : event["choices"]) text += choice.value("text", "");
    at = end;
  }
  return text;
}

// Many streaming clients over three shared prefixes on a GPU pool too small for them, with the
// CPU tier (4 GPU blocks per CPU block), a third of the clients hanging up mid-stream: the server
// ends with nothing running, waiting or held, every store landed, and the clients that stayed got
// the same text as from a server with room for everything and no tier.
TEST_F(ServeTest, TierUnderPressureAndDisconnectsLeaksNothingAndChangesNoOutput) {
  const std::string offload =
      R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
      R"("kv_connector_extra_config":{"num_cpu_blocks":64,"block_size":64}})";
  constexpr int kClients = 24;
  auto body = [](int i) {
    json ids = json::array();
    for (int t = 0; t < 192; ++t) ids.push_back(20 + ((i % 3) * 7919 + t * 131) % 3000);
    for (int t = 0; t < 16; ++t) ids.push_back(40 + (i * 613 + t * 97) % 3000);
    return json({{"prompt", ids}, {"max_tokens", 24}, {"temperature", 0}, {"ignore_eos", true},
                 {"stream", true}})
        .dump();
  };
  std::vector<std::string> got(kClients);
  {
    ServeProcess serve(model_, {"--num-gpu-blocks-override", "48", "--max-model-len", "512",
                                "--max-num-seqs", "8", "--kv-transfer-config", offload});
    ASSERT_TRUE(serve.ready()) << serve.log();
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        HttpTestClient c(serve.port(), 120s);
        if (i % 3 == 0) {
          // Hangs up once the first text arrives (or at once, for every sixth).
          c.send_request("POST", "/v1/completions", body(i));
          if (i % 6 == 0) c.read_until("\"text\":\"");
          c.close();
          return;
        }
        auto r = c.request("POST", "/v1/completions", body(i));
        if (r.status == 200) got[size_t(i)] = streamed_text(r.body);
      });
    }
    for (auto& t : clients) t.join();
    HttpTestClient m(serve.port(), 120s);
    std::string metrics;
    bool settled = false;
    for (int i = 0; i < 1000 && !settled; ++i) {
      metrics = m.request("GET", "/metrics").body;
      settled = metric(metrics, "vllm:num_requests_running") == 0 &&
                metric(metrics, "vllm:num_requests_waiting") == 0 &&
                metric(metrics, "vllm:kv_cache_usage_perc") == 0;
      if (!settled) std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(settled) << metrics;
    EXPECT_GT(labeled_metric(metrics, "vllm:kv_offload_total_bytes_total",
                             "transfer_type=\"GPU_to_CPU\""),
              0)
        << metrics;
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();
  }
  ServeProcess roomy(model_, {"--max-model-len", "512"});
  ASSERT_TRUE(roomy.ready()) << roomy.log();
  HttpTestClient c(roomy.port(), 120s);
  int compared = 0;
  for (int i = 0; i < kClients; ++i) {
    if (i % 3 == 0) continue;
    auto r = c.request("POST", "/v1/completions", body(i));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(got[size_t(i)].empty()) << "client " << i << " got no text";
    EXPECT_EQ(got[size_t(i)], streamed_text(r.body)) << "client " << i;
    ++compared;
  }
  EXPECT_EQ(compared, 16);
}

TEST_F(ServeTest, ClientThatVanishesMidStreamFreesItsBlocks) {
  ServeProcess serve(model_);
  ASSERT_TRUE(serve.ready()) << serve.log();
  {
    HttpTestClient c(serve.port(), 120s);
    // No max_tokens: the rest of the context, far more than the test waits for.
    c.send_request("POST", "/v1/chat/completions",
                   json({{"messages", {{{"role", "user"}, {"content", "Tell me a long story"}}}},
                         {"ignore_eos", true}, {"stream", true}})
                       .dump());
    // A chunk with generated text (the role chunk has {"role": ..., "content": ""}): the
    // request is running and holds KV blocks.
    std::string seen = c.read_until("\"delta\":{\"content\":\"");
    ASSERT_NE(seen.find("\"delta\":{\"content\":\""), std::string::npos) << seen;
    c.close();
  }
  HttpTestClient m(serve.port(), 120s);
  const std::string aborted = "vllm:request_success_total{model_name=\"" + model_.string() +
                              "\",engine=\"0\",finished_reason=\"abort\"}";
  std::string metrics;
  bool freed = false;
  for (int i = 0; i < 500 && !freed; ++i) {
    metrics = m.request("GET", "/metrics").body;
    freed = metric(metrics, aborted) == 1 && metric(metrics, "vllm:num_requests_running") == 0 &&
            metric(metrics, "vllm:num_requests_waiting") == 0 &&
            metric(metrics, "vllm:kv_cache_usage_perc") == 0;
    if (!freed) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(freed) << metrics;
  // Aborted at once, not after generating the rest of the context.
  EXPECT_LT(metric(metrics, "vllm:generation_tokens_total"), 1000);
}

TEST_F(ServeTest, SigtermDuringLoadFinishesEveryAcceptedRequest) {
  // Fewer sequences than requests, so some wait in the queue when the signal arrives; once
  // without the CPU tier and once with it on a small GPU pool (stores in flight at the signal).
  const std::string offload =
      R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
      R"("kv_connector_extra_config":{"num_cpu_blocks":64}})";
  for (bool tier : {false, true}) {
    SCOPED_TRACE(tier ? "with the CPU tier" : "without the CPU tier");
    std::vector<std::string> flags = {"--max-num-seqs", "3", "--shutdown-timeout", "120"};
    if (tier) {
      for (const char* f : {"--num-gpu-blocks-override", "24", "--kv-transfer-config"})
        flags.push_back(f);
      flags.push_back(offload);
    }
    sigterm_during_load(flags);
  }
}

void ServeTest::sigterm_during_load(const std::vector<std::string>& flags) {
  ServeProcess serve(model_, flags);
  ASSERT_TRUE(serve.ready()) << serve.log();
  constexpr int kRequests = 8;
  std::atomic<int> accepted{0};
  std::atomic<int> finished{0};
  std::vector<std::string> bodies(kRequests);
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back([&, i] {
      HttpTestClient c(serve.port(), 120s);
      // Long enough that streams are still running when SIGTERM comes (checked below).
      json request = {{"prompt", "Request number " + std::to_string(i)}, {"max_tokens", 128},
                      {"ignore_eos", true}, {"stream", true}};
      c.send_request("POST", "/v1/completions", request.dump());
      bodies[size_t(i)] = c.read_until("\r\n\r\n");  // the stream's headers: accepted
      accepted++;
      bodies[size_t(i)] += c.read_until("data: [DONE]");
      finished++;
    });
  }
  for (int i = 0; i < 6000 && accepted < kRequests; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(accepted, kRequests);
  serve.signal(SIGTERM);
  // The drain is only tested if something was in flight when the signal went out.
  const int finished_before_signal = finished.load();
  for (auto& t : clients) t.join();
  EXPECT_LT(finished_before_signal, kRequests);
  for (int i = 0; i < kRequests; ++i) {
    const std::string& body = bodies[size_t(i)];
    EXPECT_NE(body.find("HTTP/1.1 200 OK"), std::string::npos) << i << "\n" << body;
    EXPECT_NE(body.find("\"finish_reason\":\"length\""), std::string::npos) << i << "\n" << body;
    EXPECT_NE(body.find("data: [DONE]"), std::string::npos) << i << "\n" << body;
    EXPECT_EQ(body.find("\"error\""), std::string::npos) << i << "\n" << body;
  }
  EXPECT_EQ(serve.wait_exit(120s), 0) << serve.log();
  EXPECT_NE(serve.log().find("SIGTERM received"), std::string::npos);
}

TEST_F(ServeTest, HelpAndBadFlags) {
  int code = -1;
  std::string version = run_command(std::string(KVTIER_BIN) + " --version", &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(version.rfind("kvtier 0.1.0 (backends: cpu", 0), 0u) << version;
  std::string help = run_command(std::string(KVTIER_BIN) + " serve --help", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(help.find("--max-num-seqs"), std::string::npos) << help;
  std::string tp = run_command(
      std::string(KVTIER_BIN) + " serve " + model_.string() + " --tensor-parallel-size 2", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(tp.find("--tensor-parallel-size 2 is not supported"), std::string::npos) << tp;
  std::string ambiguous =
      run_command(std::string(KVTIER_BIN) + " serve " + model_.string() + " --max-num 4", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(ambiguous.find("ambiguous option"), std::string::npos) << ambiguous;
  std::string missing = run_command(std::string(KVTIER_BIN) + " serve /no/such/model --port 0", &code);
  EXPECT_NE(code, 0);
}

}  // namespace
}  // namespace kvtier::server::testing
