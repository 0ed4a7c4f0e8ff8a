#include "bench/stream_client.h"

#include <pthread.h>
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <ctime>
#include <limits>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/cpu_time.h"
#include "bench/bench_clock.h"
#include "bench/stream_accumulator.h"

namespace kvtier::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxIdlePerLane = 8192;
constexpr size_t kReadBufferBytes = 16 * 1024;
constexpr size_t kMaxErrorBodyBytes = 64 * 1024;

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace

// Everything a lane owns is touched only by that lane's thread, except `io` (post/submit).
struct Lane {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<beast::tcp_stream> idle;          // keep-alive connections ready for reuse
  std::unordered_set<beast::tcp_stream*> busy;  // connections with a request in flight
  std::thread thread;
};

struct StreamClient::Impl {
  HttpTarget target;
  HttpOptions options;
  tcp::resolver::results_type endpoints;
  std::vector<std::unique_ptr<Lane>> lanes;

  asio::awaitable<void> run(Lane& lane, std::unique_ptr<StreamCall> call);
  asio::awaitable<beast::error_code> connect(beast::tcp_stream& stream);
  http::request<http::string_body> make_request(const StreamCall& call) const;
};

namespace {

bool stopped(const StreamCall& call) {
  return call.stop && call.stop->load(std::memory_order_acquire);
}

// The connection is registered as busy for the lifetime of this guard so cancel_in_flight()
// can close it.
struct BusyGuard {
  Lane& lane;
  beast::tcp_stream* stream;
  BusyGuard(Lane& l, beast::tcp_stream* s) : lane(l), stream(s) { lane.busy.insert(stream); }
  ~BusyGuard() { lane.busy.erase(stream); }
};

}  // namespace

asio::awaitable<beast::error_code> StreamClient::Impl::connect(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.expires_after(seconds(options.connect_timeout_s));
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  stream.expires_never();
  if (!ec) stream.socket().set_option(tcp::no_delay(true), ec);
  co_return ec;
}

http::request<http::string_body> StreamClient::Impl::make_request(const StreamCall& call) const {
  http::request<http::string_body> req{http::verb::post, target.path(call.route), 11};
  req.set(http::field::host, target.host + ":" + target.port);
  req.set(http::field::user_agent, "kvtier-bench");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, call.stream ? "text/event-stream" : "application/json");
  for (const auto& [name, value] : options.headers) req.set(name, value);
  req.keep_alive(true);
  req.body() = call.body;
  req.prepare_payload();
  return req;
}

asio::awaitable<void> StreamClient::Impl::run(Lane& lane, std::unique_ptr<StreamCall> call) {
  RequestRecord& record = call->record;
  auto finish = [&](RequestStatus status, std::string error) {
    record.status = status;
    record.error = std::move(error);
    if (!record.request_end) record.request_end = BenchClock::now();
    if (call->done) call->done(std::move(record));
  };
  if (stopped(*call)) {
    finish(RequestStatus::kIncomplete, "benchmark stopped before the request was sent");
    co_return;
  }
  if (record.keep_details) record.request_args = call->body;
  auto request = make_request(*call);

  // A pooled keep-alive connection may have been closed by the server meanwhile: one retry on
  // a fresh connection when nothing of the response arrived.
  for (int attempt = 0;; ++attempt) {
    std::optional<beast::tcp_stream> stream;
    bool reused = false;
    if (attempt == 0 && !lane.idle.empty()) {
      stream.emplace(std::move(lane.idle.back()));
      lane.idle.pop_back();
      reused = true;
    } else {
      stream.emplace(lane.io.get_executor());
    }
    BusyGuard guard(lane, &*stream);
    beast::error_code ec;
    if (!reused) {
      ec = co_await connect(*stream);
      if (stopped(*call)) {
        finish(RequestStatus::kIncomplete, "cancelled at the benchmark's end");
        co_return;
      }
      if (ec) {
        finish(RequestStatus::kErrored,
               fmt::format("cannot connect to {}: {}", target.url(), ec.message()));
        co_return;
      }
    }
    record.request_start = BenchClock::now();
    if (options.read_timeout_s) stream->expires_after(seconds(*options.read_timeout_s));
    co_await http::async_write(*stream, request, asio::redirect_error(asio::use_awaitable, ec));
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    // Not boost::none: Beast 1.74 compares a Content-Length against an empty limit as exceeded.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ec) {
      co_await http::async_read_header(*stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec && reused && attempt == 0 && !stopped(*call) && ec != beast::error::timeout) {
      continue;
    }
    if (ec) {
      if (stopped(*call)) {
        finish(RequestStatus::kIncomplete, "cancelled at the benchmark's end");
      } else {
        finish(RequestStatus::kErrored,
               fmt::format("request to {} failed: {}", call->route, ec.message()));
      }
      co_return;
    }

    const int status = static_cast<int>(parser.get().result_int());
    StreamAccumulator accumulator(record);
    std::string raw_body;  // non-streamed answers and error bodies
    char data[kReadBufferBytes];
    while (!parser.is_done()) {
      parser.get().body().data = data;
      parser.get().body().size = sizeof(data);
      if (options.read_timeout_s) stream->expires_after(seconds(*options.read_timeout_s));
      co_await http::async_read_some(*stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) break;
      const size_t n = sizeof(data) - parser.get().body().size;
      if (n == 0) continue;
      const double now = BenchClock::now();
      if (status == 200 && call->stream) {
        accumulator.on_body({data, n}, now);
        if (accumulator.failed()) break;
      } else if (raw_body.size() < kMaxErrorBodyBytes || status == 200) {
        raw_body.append(data, n);
      }
    }
    const double end = BenchClock::now();
    if (status == 200 && call->stream && !ec) accumulator.finish(end);
    record.request_end = end;
    stream->expires_never();

    if (status != 200) {
      finish(RequestStatus::kErrored,
             fmt::format("HTTP {} from {}: {}", status, call->route, raw_body.substr(0, 2000)));
    } else if (ec) {
      finish(stopped(*call) ? RequestStatus::kIncomplete : RequestStatus::kErrored,
             stopped(*call) ? "cancelled at the benchmark's end"
                            : fmt::format("response from {} cut: {}", call->route, ec.message()));
    } else if (call->stream && accumulator.failed()) {
      finish(RequestStatus::kErrored, accumulator.error());
    } else if (call->stream && record.request_iterations == 0 && !accumulator.saw_done()) {
      finish(RequestStatus::kErrored,
             fmt::format("{} answered without server-sent events (was \"stream\": true ignored?)",
                         call->route));
    } else if (!call->stream) {
      std::string error;
      read_completion_response(raw_body, end, record, error);
      finish(error.empty() ? RequestStatus::kSuccessful : RequestStatus::kErrored, error);
    } else {
      finish(RequestStatus::kSuccessful, {});
    }
    // Only a connection whose response was read to its end can carry the next request.
    if (!ec && parser.is_done() && parser.keep_alive() && !stopped(*call) &&
        lane.idle.size() < kMaxIdlePerLane) {
      lane.idle.push_back(std::move(*stream));
    } else {
      beast::error_code ignored;
      stream->socket().close(ignored);
    }
    co_return;
  }
}

StreamClient::StreamClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamClient::~StreamClient() {
  for (auto& lane : impl_->lanes) {
    asio::post(lane->io, [l = lane.get()] {
      beast::error_code ec;
      for (auto& s : l->idle) s.socket().close(ec);
      for (auto* s : l->busy) s->socket().close(ec);  // nothing may keep the lane running
      l->idle.clear();
      l->work.reset();
    });
  }
  for (auto& lane : impl_->lanes) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

Expected<std::unique_ptr<StreamClient>> StreamClient::create(const HttpTarget& target,
                                                             const HttpOptions& options,
                                                             int lanes) {
  if (lanes < 1) return invalid_argument("--io-threads {}: must be at least 1", lanes);
  raise_open_file_limit();
  auto impl = std::make_unique<Impl>();
  impl->target = target;
  impl->options = options;
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  impl->endpoints = resolver.resolve(target.host, target.port, ec);
  if (ec) {
    return make_error(ErrorCode::kUnavailable, "--target {}: cannot resolve host '{}': {}",
                      target.url(), target.host, ec.message());
  }
  for (int i = 0; i < lanes; ++i) {
    auto lane = std::make_unique<Lane>();
    Lane* l = lane.get();
    lane->thread = std::thread([l] { l->io.run(); });
    impl->lanes.push_back(std::move(lane));
  }
  return std::unique_ptr<StreamClient>(new StreamClient(std::move(impl)));
}

int StreamClient::lanes() const {
  return static_cast<int>(impl_->lanes.size());
}

void StreamClient::submit(size_t lane_index, std::unique_ptr<StreamCall> call) {
  Lane& lane = *impl_->lanes[lane_index % impl_->lanes.size()];
  asio::co_spawn(lane.io, impl_->run(lane, std::move(call)), asio::detached);
}

void StreamClient::cancel_in_flight() {
  for (auto& lane : impl_->lanes) {
    asio::post(lane->io, [l = lane.get()] {
      beast::error_code ec;
      for (auto* s : l->busy) s->socket().close(ec);
    });
  }
}

double StreamClient::cpu_seconds() const {
  double total = 0.0;
  for (const auto& lane : impl_->lanes) total += thread_cpu_seconds(lane->thread.native_handle());
  return total;
}

void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace kvtier::bench
