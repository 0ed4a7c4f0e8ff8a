// What `kvtier route` adds to a streamed request: time to first token (TTFT) and CPU, measured
// with N concurrent streaming clients (keep-alive, each sending its next request as soon as the
// previous stream ends) against a fast sim endpoint, once directly and once through the router.
// Client, router and endpoint share this process; the router's CPU per request is read from its
// own I/O threads' CPU clocks (router_cpu_us_per_req), the process's in cpu_us_per_req. The
// router tokenizes the prompt with the Qwen3 tokenizer (as `kvtier route` does) when present.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>
#include <utility>

#include <benchmark/benchmark.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "common/paths.h"
#include "router/gateway.h"
#include "router/sim_endpoint.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace kvtier;

constexpr auto kWarmup = std::chrono::seconds(1);
constexpr auto kMeasure = std::chrono::seconds(4);
constexpr int kChunks = 16;

struct LoadResult {
  std::vector<double> ttft_us;
  uint64_t requests = 0;
  uint64_t errors = 0;
  double cpu_s = 0;
  double router_cpu_s = 0;
  double wall_s = 0;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

struct Window {
  Clock::time_point start, end;
};

asio::awaitable<void> client(uint16_t port, const std::string& request_text, Window window,
                             LoadResult& result) {
  auto executor = co_await asio::this_coro::executor;
  const tcp::endpoint target(asio::ip::make_address("127.0.0.1"), port);
  while (Clock::now() < window.end) {
    beast::tcp_stream stream(executor);
    boost::system::error_code ec;
    co_await stream.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      result.errors++;
      continue;
    }
    beast::flat_buffer buffer;
    while (!ec && Clock::now() < window.end) {
      const auto sent = Clock::now();
      co_await asio::async_write(stream.socket(), asio::buffer(request_text),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      http::response_parser<http::string_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      double ttft = -1;
      while (!ec && !parser.is_done()) {
        co_await http::async_read_some(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
        if (ttft < 0 && !parser.get().body().empty()) {
          ttft = std::chrono::duration<double, std::micro>(Clock::now() - sent).count();
        }
      }
      if (ec || parser.get().result() != http::status::ok) {
        result.errors++;
        break;
      }
      if (sent >= window.start && sent < window.end) {
        result.ttft_us.push_back(ttft);
        result.requests++;
      }
      if (!parser.get().keep_alive()) break;
    }
  }
}

LoadResult run_load(uint16_t port, int concurrency, const router::Gateway* gateway) {
  const std::string body =
      R"({"model":"sim-model","stream":true,"max_tokens":16,"sim_chunks":16,"prompt":")" +
      std::string(
          "You are a helpful assistant serving a benchmark. Answer in one short paragraph, "
          "citing the relevant parts of the context. The context follows: the router sits in "
          "front of several engines and picks one per request from their load and the "
          "prefixes they hold; streaming responses pass through it unchanged.") +
      R"("})";
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: bench\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::io_context ioc;
  LoadResult result;
  const auto now = Clock::now();
  Window window{now + kWarmup, now + kWarmup + kMeasure};
  for (int i = 0; i < concurrency; ++i) {
    asio::co_spawn(ioc, client(port, request, window, result), asio::detached);
  }
  std::thread waiter([&] {
    std::this_thread::sleep_until(window.start);
    result.cpu_s = -cpu_seconds();
    if (gateway) result.router_cpu_s = -gateway->io_cpu_seconds();
    std::this_thread::sleep_until(window.end);
    result.cpu_s += cpu_seconds();
    if (gateway) result.router_cpu_s += gateway->io_cpu_seconds();
  });
  const auto start = window.start;
  ioc.run();
  waiter.join();
  result.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// Direct (mode 0) or through the router (mode 1); range(1) = concurrent streams.
void BM_StreamTtft(benchmark::State& state) {
  raise_fd_limit();
  spdlog::set_level(spdlog::level::warn);
  const bool via_router = state.range(0) == 1;
  const int concurrency = int(state.range(1));
  auto endpoint = router::SimEndpoint::start("sim", 0, 1);
  if (!endpoint) return state.SkipWithError(endpoint.error().message().c_str());
  std::unique_ptr<router::Gateway> gateway;
  uint16_t port = (*endpoint)->port();
  if (via_router) {
    router::GatewayOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.endpoints = {*router::EndpointAddress::parse((*endpoint)->url())};
    o.io_threads = 1;
    if (std::filesystem::exists(default_tokenizer_dir() / "tokenizer.json")) {
      auto tok = tokenizer::Tokenizer::load(default_tokenizer_dir());
      if (tok) o.prompt_reader = router::make_tokenizer_prompt_reader(*tok);
    }
    auto g = router::Gateway::create(std::move(o));
    if (!g) return state.SkipWithError(g.error().message().c_str());
    gateway = std::move(*g);
    gateway->start();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // first scrapes
    port = gateway->port();
  }
  LoadResult result;
  for (auto _ : state) {
    result = run_load(port, concurrency, gateway.get());
    state.SetIterationTime(result.wall_s);
  }
  const double measured = std::chrono::duration<double>(kMeasure).count();
  state.counters["req_per_s"] = double(result.requests) / measured;
  state.counters["ttft_p50_us"] = percentile(result.ttft_us, 0.50);
  state.counters["ttft_p99_us"] = percentile(result.ttft_us, 0.99);
  state.counters["cpu_us_per_req"] =
      result.requests ? result.cpu_s * 1e6 / double(result.requests) : 0;
  state.counters["router_cpu_us_per_req"] =
      result.requests ? result.router_cpu_s * 1e6 / double(result.requests) : 0;
  state.counters["errors"] = double(result.errors);
  state.SetLabel(via_router ? "via router" : "direct");
}

BENCHMARK(BM_StreamTtft)
    ->ArgNames({"router", "streams"})
    ->ArgsProduct({{0, 1}, {1, 100, 1000}})
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
