#include "bench/scripted_server.h"

#include <fmt/format.h>
#include <pthread.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <ctime>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/cpu_time.h"

namespace kvtier::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

auto redirect(beast::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

std::string usage_json(int64_t prompt, int64_t completion, int64_t cached) {
  return fmt::format(R"({{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{},)"
                     R"("prompt_tokens_details":{{"cached_tokens":{}}}}})",
                     prompt, completion, prompt + completion, cached);
}

// One SSE event as one HTTP chunk.
std::string sse_chunk(std::string_view data) {
  return fmt::format("{:x}\r\ndata: {}\n\n\r\n", data.size() + 8, data);
}

}  // namespace

struct ScriptedServer::Impl {
  ScriptedServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  int port = 0;

  mutable std::mutex mu;  // guards bodies
  std::vector<nlohmann::json> bodies;
  std::atomic<int64_t> completions{0};
  std::atomic<int64_t> open_streams{0};
  std::atomic<int64_t> peak_streams{0};

  explicit Impl(ScriptedServerOptions o) : options(std::move(o)), io(options.threads) {}

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket);
  asio::awaitable<bool> complete(tcp::socket& socket, const http::request<http::string_body>& req,
                                 Clock::time_point arrival);
  asio::awaitable<bool> stream(tcp::socket& socket, const nlohmann::json& body,
                               const ScriptedReply& reply, bool chat, int64_t index,
                               Clock::time_point arrival);
  asio::awaitable<bool> respond(tcp::socket& socket, http::status status, std::string body,
                                std::string_view content_type, bool keep_alive);
};

asio::awaitable<bool> ScriptedServer::Impl::respond(tcp::socket& socket, http::status status,
                                                    std::string body, std::string_view content_type,
                                                    bool keep_alive) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  beast::error_code ec;
  co_await http::async_write(socket, res, redirect(ec));
  co_return !ec;
}

asio::awaitable<bool> ScriptedServer::Impl::stream(tcp::socket& socket, const nlohmann::json& body,
                                                   const ScriptedReply& reply, bool chat,
                                                   int64_t index, Clock::time_point arrival) {
  const auto options_it = body.find("stream_options");
  const bool include_usage = options_it != body.end() && options_it->is_object() &&
                             options_it->value("include_usage", false);
  const bool continuous = include_usage && options_it->value("continuous_usage_stats", false);
  const std::string id = fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", index);
  const std::string& model = options.model_id;
  beast::error_code ec;
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  auto choice = [&](std::string_view text, const char* finish) {
    return chat ? fmt::format(R"({{"index":0,"delta":{{"content":"{}"}},"finish_reason":{}}})",
                              text, finish)
                : fmt::format(R"({{"index":0,"text":"{}","finish_reason":{}}})", text, finish);
  };
  auto event = [&](std::string_view choices, std::string_view usage) {
    return fmt::format(R"({{"id":"{}","object":"{}","created":0,"model":"{}","choices":[{}]{}}})",
                       id, chat ? "chat.completion.chunk" : "text_completion", model, choices,
                       usage.empty() ? "" : fmt::format(R"(,"usage":{})", usage));
  };
  if (chat && reply.send_role_chunk) {
    head += sse_chunk(fmt::format(
        R"({{"id":"{}","object":"chat.completion.chunk","created":0,"model":"{}",)"
        R"("choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},)"
        R"("finish_reason":null}}]}})",
        id, model));
  }
  co_await asio::async_write(socket, asio::buffer(head), redirect(ec));
  if (ec) co_return false;

  const int64_t peak = ++open_streams;
  for (int64_t p = peak_streams.load(); peak > p && !peak_streams.compare_exchange_weak(p, peak);) {
  }
  struct Closing {
    std::atomic<int64_t>& open;
    ~Closing() { --open; }
  } closing{open_streams};

  asio::steady_timer timer(socket.get_executor());
  const int per_chunk = std::max(1, reply.tokens_per_chunk);
  int64_t sent = 0;
  for (int64_t k = 0; sent < reply.output_tokens; ++k) {
    const auto due = arrival + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(reply.ttft_s + k * reply.itl_s));
    if (due > Clock::now()) {
      timer.expires_at(due);
      co_await timer.async_wait(redirect(ec));
    }
    std::string out;
    if (reply.error_after_tokens >= 0 && sent >= reply.error_after_tokens) {
      out = sse_chunk(
          R"({"error":{"message":"scripted stream error","type":"server_error","code":500}})");
      out += sse_chunk("[DONE]");
      out += "0\r\n\r\n";
      co_await asio::async_write(socket, asio::buffer(out), redirect(ec));
      co_return false;
    }
    const int64_t n = std::min<int64_t>(per_chunk, reply.output_tokens - sent);
    std::string text;
    for (int64_t i = 0; i < n; ++i) text += "tok ";
    sent += n;
    const bool last = sent == reply.output_tokens;
    out = sse_chunk(
        event(choice(text, last ? "\"length\"" : "null"),
              continuous ? usage_json(reply.prompt_tokens, sent, reply.cached_tokens) : ""));
    if (last) {
      if (include_usage) {
        out += sse_chunk(event("", usage_json(reply.prompt_tokens, sent, reply.cached_tokens)));
      }
      out += sse_chunk("[DONE]");
      out += "0\r\n\r\n";
    }
    co_await asio::async_write(socket, asio::buffer(out), redirect(ec));
    if (ec) co_return false;
  }
  if (reply.output_tokens <= 0) {
    std::string out = sse_chunk("[DONE]") + "0\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(out), redirect(ec));
    if (ec) co_return false;
  }
  co_return true;
}

asio::awaitable<bool> ScriptedServer::Impl::complete(tcp::socket& socket,
                                                     const http::request<http::string_body>& req,
                                                     Clock::time_point arrival) {
  const bool chat = req.target() == "/v1/chat/completions";
  auto body = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    co_return co_await respond(socket, http::status::bad_request,
                               R"({"error":{"message":"body is not a JSON object"}})",
                               "application/json", req.keep_alive());
  }
  const int64_t index = completions++;
  {
    std::lock_guard lock(mu);
    bodies.push_back(body);
  }
  ScriptedReply reply;
  if (options.script) {
    reply = options.script(body, index);
  } else {
    reply.prompt_tokens = count_prompt_words(body);
  }
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (auto it = body.find(key); it != body.end() && it->is_number_integer()) {
      reply.output_tokens = it->get<int64_t>();
    }
  }
  if (reply.status != 200) {
    co_return co_await respond(socket, static_cast<http::status>(reply.status), reply.error_body,
                               "application/json", req.keep_alive());
  }
  if (body.value("stream", false)) {
    const bool ok = co_await stream(socket, body, reply, chat, index, arrival);
    co_return ok&& req.keep_alive();
  }
  // Not streamed: the whole answer once the last token would have been produced.
  const double done_s = reply.ttft_s + std::max<int64_t>(0, reply.output_tokens - 1) * reply.itl_s;
  asio::steady_timer timer(socket.get_executor());
  timer.expires_at(
      arrival + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(done_s)));
  beast::error_code ec;
  co_await timer.async_wait(redirect(ec));
  std::string text;
  for (int64_t i = 0; i < reply.output_tokens; ++i) text += "tok ";
  const std::string usage =
      usage_json(reply.prompt_tokens, reply.output_tokens, reply.cached_tokens);
  const std::string answer =
      chat
          ? fmt::format(
                R"({{"id":"chatcmpl-{}","object":"chat.completion","model":"{}",)"
                R"("choices":[{{"index":0,"message":{{"role":"assistant","content":"{}"}},)"
                R"("finish_reason":"length"}}],"usage":{}}})",
                index, options.model_id, text, usage)
          : fmt::format(
                R"({{"id":"cmpl-{}","object":"text_completion","model":"{}",)"
                R"("choices":[{{"index":0,"text":"{}","finish_reason":"length"}}],"usage":{}}})",
                index, options.model_id, text, usage);
  co_return co_await respond(socket, http::status::ok, answer, "application/json",
                             req.keep_alive());
}

asio::awaitable<void> ScriptedServer::Impl::session(tcp::socket socket) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(256 << 20);
    co_await http::async_read(socket, buffer, parser, redirect(ec));
    if (ec) break;
    const auto arrival = Clock::now();
    const auto& req = parser.get();
    bool keep = req.keep_alive();
    if (req.method() == http::verb::get && req.target() == "/health") {
      keep = co_await respond(socket, http::status::ok, "", "text/plain", keep) && keep;
    } else if (req.method() == http::verb::get && req.target() == "/v1/models") {
      const std::string models = fmt::format(
          R"({{"object":"list","data":[{{"id":"{}","object":"model","owned_by":"kvtier",)"
          R"("root":"{}"}}]}})",
          options.model_id, options.model_id);
      keep = co_await respond(socket, http::status::ok, models, "application/json", keep) && keep;
    } else if (req.method() == http::verb::post &&
               (req.target() == "/v1/chat/completions" || req.target() == "/v1/completions")) {
      keep = co_await complete(socket, req, arrival);
    } else {
      keep =
          co_await respond(socket, http::status::not_found,
                           R"({"error":{"message":"no such route"}})", "application/json", keep) &&
          keep;
    }
    if (!keep) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> ScriptedServer::Impl::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(redirect(ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      continue;  // e.g. out of descriptors for a moment
    }
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
  }
}

ScriptedServer::ScriptedServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Expected<std::unique_ptr<ScriptedServer>> ScriptedServer::start(ScriptedServerOptions options) {
  if (options.threads < 1) options.threads = 1;
  auto impl = std::make_unique<Impl>(std::move(options));
  beast::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::kUnavailable, "scripted server: cannot listen on 127.0.0.1: {}",
                      ec.message());
  }
  impl->port = impl->acceptor.local_endpoint().port();
  asio::co_spawn(impl->io, impl->accept_loop(), asio::detached);
  for (int i = 0; i < impl->options.threads; ++i) {
    impl->threads.emplace_back([io = &impl->io] { io->run(); });
  }
  return std::unique_ptr<ScriptedServer>(new ScriptedServer(std::move(impl)));
}

ScriptedServer::~ScriptedServer() {
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
}

int ScriptedServer::port() const {
  return impl_->port;
}

std::string ScriptedServer::url() const {
  return fmt::format("http://127.0.0.1:{}", impl_->port);
}

std::vector<nlohmann::json> ScriptedServer::bodies() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bodies;
}

int64_t ScriptedServer::completion_requests() const {
  return impl_->completions.load();
}

int64_t ScriptedServer::peak_open_streams() const {
  return impl_->peak_streams.load();
}

double ScriptedServer::cpu_seconds() const {
  double total = 0.0;
  for (auto& t : impl_->threads) {
    total += thread_cpu_seconds(const_cast<std::thread&>(t).native_handle());
  }
  return total;
}

int64_t ScriptedServer::count_prompt_words(const nlohmann::json& body) {
  std::string text;
  if (auto p = body.find("prompt"); p != body.end() && p->is_string()) text = p->get<std::string>();
  if (auto m = body.find("messages"); m != body.end() && m->is_array()) {
    for (const auto& message : *m) {
      if (message.is_object() && message.contains("content") && message["content"].is_string()) {
        text += ' ';
        text += message["content"].get<std::string>();
      }
    }
  }
  std::istringstream in(text);
  int64_t words = 0;
  for (std::string w; in >> w;) ++words;
  return words;
}

}  // namespace kvtier::bench
