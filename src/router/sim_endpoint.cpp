#include "router/sim_endpoint.h"

#include <thread>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace kvtier::router {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct SimEndpoint::State {
  std::string name;
  uint16_t port = 0;
  // Owned through pointers so stop() can destroy them: that destroys the coroutines still
  // holding connections, which closes them as a process exit would.
  std::unique_ptr<asio::io_context> ioc = std::make_unique<asio::io_context>();
  std::unique_ptr<tcp::acceptor> acceptor = std::make_unique<tcp::acceptor>(*ioc);
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};

  mutable std::mutex mu;  // guards the fields below; any I/O thread and the test thread
  double waiting = 0, running = 0, kv_usage = 0;
  int health_status = 200;
  int metrics_status = 200;
  int block_size = 16;
  std::vector<std::string> bodies;

  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> stream_bytes{0};
  std::atomic<uint64_t> aborted{0};
  std::atomic<uint64_t> connections{0};
};

namespace {

auto use_ec(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

std::string event(const std::string& name, int64_t id, std::string_view text) {
  nlohmann::ordered_json chunk;
  chunk["id"] = fmt::format("cmpl-{}-{}", name, id);
  chunk["object"] = "text_completion";
  chunk["model"] = "sim-model";
  chunk["choices"] = nlohmann::json::array(
      {{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", nullptr}}});
  return "data: " + chunk.dump() + "\n\n";
}

std::string metrics_text(SimEndpoint::State& s) {
  std::lock_guard lock(s.mu);
  const double in_flight = double(s.in_flight.load());
  return fmt::format(
      "# TYPE vllm:num_requests_running gauge\n"
      "vllm:num_requests_running{{engine=\"0\",model_name=\"sim-model\"}} {}\n"
      "# TYPE vllm:num_requests_waiting gauge\n"
      "vllm:num_requests_waiting{{engine=\"0\",model_name=\"sim-model\"}} {}\n"
      "# TYPE vllm:kv_cache_usage_perc gauge\n"
      "vllm:kv_cache_usage_perc{{engine=\"0\",model_name=\"sim-model\"}} {}\n"
      "# TYPE vllm:cache_config_info gauge\n"
      "vllm:cache_config_info{{block_size=\"{}\",num_gpu_blocks=\"4096\"}} 1.0\n",
      s.running + in_flight, s.waiting, s.kv_usage, s.block_size);
}

// Coroutine arguments are named objects passed by reference: GCC 12 mishandles temporaries
// that live across a co_await.
asio::awaitable<bool> write_simple(beast::tcp_stream& stream, unsigned version, bool keep,
                                   int status, const std::string& body, std::string_view type,
                                   const std::string& name) {
  http::response<http::string_body> res{http::status(status), version};
  res.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  res.set("x-sim-endpoint", name);
  res.keep_alive(keep);
  res.body() = body;
  res.prepare_payload();
  error_code ec;
  co_await http::async_write(stream, res, use_ec(ec));
  co_return !ec && keep;
}

asio::awaitable<bool> stream_completion(beast::tcp_stream& stream, unsigned version, bool keep,
                                        const nlohmann::json& body, SimEndpoint::State& s) {
  const int chunks = body.value("sim_chunks", 8);
  const int64_t interval_us = body.value("sim_interval_us", int64_t{0});
  const uint64_t bytes = body.value("sim_bytes", uint64_t{0});
  const int64_t id = body.value("sim_id", int64_t{0});
  http::response<http::empty_body> res{http::status::ok, version};
  res.set(http::field::content_type, "text/event-stream; charset=utf-8");
  res.set("x-sim-endpoint", s.name);
  res.chunked(true);
  res.keep_alive(keep);
  http::response_serializer<http::empty_body> header(res);
  error_code ec;
  co_await http::async_write_header(stream, header, use_ec(ec));
  if (ec) co_return false;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::string data;
  bool ok = true;
  auto send = [&]() -> asio::awaitable<bool> {
    auto chunk = http::make_chunk(asio::buffer(data));
    co_await asio::async_write(stream.socket(), chunk, use_ec(ec));
    if (ec) co_return false;
    s.stream_bytes += data.size();
    co_return true;
  };
  if (bytes > 0) {
    data.assign(16 * 1024, 'x');
    for (uint64_t sent = 0; ok && sent < bytes; sent += data.size()) ok = co_await send();
  } else {
    for (int i = 0; ok && i < chunks; ++i) {
      if (interval_us > 0) {
        timer.expires_after(std::chrono::microseconds(interval_us));
        co_await timer.async_wait(use_ec(ec));
      }
      data = event(s.name, id, fmt::format(" {}-t{}", s.name, i));
      ok = co_await send();
    }
    data = "data: [DONE]\n\n";
    if (ok) ok = co_await send();
  }
  if (ok) {
    auto last = http::make_chunk_last();
    co_await asio::async_write(stream.socket(), last, use_ec(ec));
    ok = !ec;
  }
  if (!ok) s.aborted++;
  co_return ok && keep;
}

asio::awaitable<void> session(tcp::socket socket, SimEndpoint::State& s) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  error_code ec;
  for (;;) {
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, use_ec(ec));
    if (ec) break;
    const bool keep = req.keep_alive();
    const std::string target(req.target());
    const unsigned version = req.version();
    bool again = false;
    int status = 200;
    std::string out;
    std::string_view type = "application/json";
    if (target == "/health") {
      std::lock_guard lock(s.mu);
      status = s.health_status;
    } else if (target == "/metrics") {
      {
        std::lock_guard lock(s.mu);
        status = s.metrics_status;
      }
      out = status == 200 ? metrics_text(s) : "unavailable";
      type = "text/plain; version=0.0.4";
    } else if (target == "/v1/models") {
      out = R"({"object":"list","data":[{"id":"sim-model","object":"model","owned_by":"sim"}]})";
    } else if (req.method() == http::verb::post &&
               (target == "/v1/completions" || target == "/v1/chat/completions")) {
      {
        std::lock_guard lock(s.mu);
        s.bodies.push_back(req.body());
      }
      auto body = nlohmann::json::parse(req.body(), nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        status = 400;
        out = R"({"error":{"message":"bad JSON","type":"BadRequestError","param":null,"code":400}})";
      } else if (body.value("stream", false)) {
        s.in_flight++;
        again = co_await stream_completion(stream, version, keep, body, s);
        s.in_flight--;
        if (!again) break;
        continue;
      } else {
        nlohmann::ordered_json reply;
        reply["id"] = fmt::format("cmpl-{}-{}", s.name, body.value("sim_id", int64_t{0}));
        reply["object"] = "text_completion";
        reply["model"] = "sim-model";
        reply["choices"] = nlohmann::json::array(
            {{{"index", 0}, {"text", " " + s.name}, {"finish_reason", "length"}}});
        out = reply.dump();
      }
    } else {
      status = 404;
      out = R"({"error":{"message":"no route","type":"NotFoundError","param":null,"code":404}})";
    }
    again = co_await write_simple(stream, version, keep, status, out, type, s.name);
    if (!again) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> accept_loop(SimEndpoint::State& s) {
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await s.acceptor->async_accept(asio::make_strand(*s.ioc), use_ec(ec));
    if (ec) {
      if (!s.acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    s.connections++;
    auto executor = socket.get_executor();
    asio::co_spawn(executor, session(std::move(socket), s), asio::detached);
  }
}

}  // namespace

SimEndpoint::SimEndpoint(std::unique_ptr<State> state) : state_(std::move(state)) {}

SimEndpoint::~SimEndpoint() { stop(); }

Expected<std::unique_ptr<SimEndpoint>> SimEndpoint::start(std::string name, uint16_t port,
                                                           int io_threads) {
  auto state = std::make_unique<State>();
  state->name = std::move(name);
  error_code ec;
  tcp::endpoint listen(asio::ip::make_address("127.0.0.1"), port);
  tcp::acceptor& acceptor = *state->acceptor;
  acceptor.open(listen.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(listen, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::kUnavailable, "sim endpoint '{}': cannot listen on port {}: {}",
                      state->name, port, ec.message());
  }
  state->port = acceptor.local_endpoint().port();
  asio::co_spawn(*state->ioc, accept_loop(*state), asio::detached);
  for (int i = 0; i < std::max(1, io_threads); ++i) {
    state->threads.emplace_back([s = state.get()] { s->ioc->run(); });
  }
  return std::unique_ptr<SimEndpoint>(new SimEndpoint(std::move(state)));
}

void SimEndpoint::stop() {
  State& s = *state_;
  if (s.stopped.exchange(true)) return;
  s.ioc->stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.acceptor.reset();
  s.ioc.reset();
}

uint16_t SimEndpoint::port() const { return state_->port; }
std::string SimEndpoint::url() const { return fmt::format("http://127.0.0.1:{}", state_->port); }
const std::string& SimEndpoint::name() const { return state_->name; }

void SimEndpoint::set_load(double waiting, double running, double kv_usage) {
  std::lock_guard lock(state_->mu);
  state_->waiting = waiting;
  state_->running = running;
  state_->kv_usage = kv_usage;
}

void SimEndpoint::set_health_status(int status) {
  std::lock_guard lock(state_->mu);
  state_->health_status = status;
}

void SimEndpoint::set_metrics_status(int status) {
  std::lock_guard lock(state_->mu);
  state_->metrics_status = status;
}

void SimEndpoint::set_block_size(int block_size) {
  std::lock_guard lock(state_->mu);
  state_->block_size = block_size;
}

std::vector<std::string> SimEndpoint::request_bodies() const {
  std::lock_guard lock(state_->mu);
  return state_->bodies;
}

size_t SimEndpoint::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->bodies.size();
}

int64_t SimEndpoint::in_flight() const { return state_->in_flight.load(); }
uint64_t SimEndpoint::stream_bytes_sent() const { return state_->stream_bytes.load(); }
uint64_t SimEndpoint::connections() const { return state_->connections.load(); }
uint64_t SimEndpoint::aborted_streams() const { return state_->aborted.load(); }

}  // namespace kvtier::router
