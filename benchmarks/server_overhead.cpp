// What the HTTP/SSE layer costs, measured against a trivially fast fake engine (so the model is
// not in the numbers): SSE chunk formatting per token, streamed tokens per second through the
// real server, and the latency a request gains by going through HTTP.
// Run on one core: taskset -c 0 build/benchmarks/bench_server_overhead
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "../tests/server/http_test_client.h"
#include "../tests/server/in_process_server.h"
#include "server/response_builder.h"

namespace kvtier::server::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

engine::EngineInfo bench_info() {
  engine::EngineInfo info = fake_engine_info();
  info.max_model_len = 1 << 20;
  return info;
}

void BM_SseChunk(benchmark::State& state) {
  bool chat = state.range(0) == 1;
  ResponseMeta meta;
  meta.id = "cmpl-0123456789abcdef0123456789abcdef";
  meta.model = "Qwen/Qwen3-0.6B";
  meta.created = 1767225600;
  meta.prompt_tokens = 128;
  meta.stream_options = {true, true};
  auto codec = std::make_shared<FakeCodec>();
  auto builder = chat ? make_chat_builder(meta, codec, false, 0)
                      : make_completion_builder(meta, codec, std::nullopt, "");
  engine::RequestOutput out;
  out.token_ids = {'a'};
  out.text = " token";
  size_t bytes = 0;
  for (auto _ : state) {
    std::string event = builder->stream_delta(out);
    bytes += event.size();
    benchmark::DoNotOptimize(event);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(int64_t(bytes));
}
BENCHMARK(BM_SseChunk)->Arg(0)->Arg(1)->ArgName("chat");

// N concurrent streams of T tokens each through the server (one I/O thread, one tokenizer
// thread); the fake engine emits one token per stream per step, back to back.
void BM_StreamedTokens(benchmark::State& state) {
  const int streams = int(state.range(0));
  const int tokens = 256;
  HttpServerConfig config;
  config.io_threads = 1;
  InProcessServer server(config, std::chrono::microseconds(0), bench_info());
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), server.port());
  std::string body = R"({"prompt": "benchmark", "stream": true, "max_tokens": )" +
                     std::to_string(tokens) + "}";
  int64_t total = 0;
  for (auto _ : state) {
    net::io_context ioc;
    struct Client {
      explicit Client(net::io_context& ioc) : socket(ioc) {}
      tcp::socket socket;
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::response<http::string_body> res;
    };
    std::vector<std::unique_ptr<Client>> clients;
    int done = 0;
    for (int i = 0; i < streams; ++i) {
      auto& c = *clients.emplace_back(std::make_unique<Client>(ioc));
      c.req = {http::verb::post, "/v1/completions", 11};
      c.req.set(http::field::host, "127.0.0.1");
      c.req.body() = body;
      c.req.prepare_payload();
      c.socket.async_connect(endpoint, [&c, &done](beast::error_code ec) {
        if (ec) return;
        http::async_write(c.socket, c.req, [&c, &done](beast::error_code ec, size_t) {
          if (ec) return;
          http::async_read(c.socket, c.buffer, c.res,
                           [&done](beast::error_code, size_t) { ++done; });
        });
      });
    }
    ioc.run();
    if (done != streams) state.SkipWithError("a stream failed");
    total += int64_t(streams) * tokens;
  }
  state.SetItemsProcessed(total);
  state.counters["tokens_per_s"] = benchmark::Counter(double(total), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StreamedTokens)->Arg(1)->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

// One-token requests on a keep-alive connection: the whole round trip through HTTP, JSON
// parsing, the worker pool, the engine's inbox and back.
void BM_RequestOverHttp(benchmark::State& state) {
  bool stream = state.range(0) == 1;
  InProcessServer server(HttpServerConfig{}, std::chrono::microseconds(0), bench_info());
  HttpTestClient client(server.port());
  std::string body = stream ? R"({"prompt": "hi", "max_tokens": 1, "stream": true})"
                            : R"({"prompt": "hi", "max_tokens": 1})";
  for (auto _ : state) {
    auto r = client.request("POST", "/v1/completions", body);
    if (r.status != 200) state.SkipWithError("request failed");
  }
}
BENCHMARK(BM_RequestOverHttp)->Arg(0)->Arg(1)->ArgName("stream")->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The same one-token request submitted straight to the fake engine: the baseline the HTTP
// numbers are compared with.
void BM_RequestDirect(benchmark::State& state) {
  FakeEngine engine(bench_info());
  engine.start(std::chrono::microseconds(0));
  std::mutex mu;
  std::condition_variable cv;
  uint64_t id = 0;
  for (auto _ : state) {
    bool finished = false;
    engine::GenerationRequest request;
    request.request_id = "direct-" + std::to_string(id++);
    request.prompt_ids = {'h', 'i'};
    request.sampling.max_tokens = 1;
    request.sink = [&](engine::RequestOutput&& out) {
      if (!out.finish_reason) return;
      std::lock_guard lock(mu);
      finished = true;
      cv.notify_one();
    };
    if (!engine.submit(std::move(request))) state.SkipWithError("submit failed");
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return finished; });
  }
  engine.stop();
}
BENCHMARK(BM_RequestDirect)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace kvtier::server::testing

BENCHMARK_MAIN();
