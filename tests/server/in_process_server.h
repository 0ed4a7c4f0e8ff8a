#pragma once
// The real HTTP server and API in this process, over the fake engine (stepping on its own
// thread) and the byte codec: for transport tests and the overhead benchmark, which need no
// model.
#include <chrono>
#include <memory>
#include <stdexcept>

#include "server/api.h"
#include "fake_codec.h"
#include "fake_engine.h"
#include "server/http_server.h"
#include "server/task_pool.h"

namespace kvtier::server::testing {

class InProcessServer {
 public:
  // A negative step interval leaves the engine stopped: call engine().start() yourself.
  explicit InProcessServer(HttpServerConfig http = {},
                           std::chrono::microseconds step_interval = std::chrono::milliseconds(2),
                           engine::EngineInfo info = fake_engine_info())
      : engine_(std::make_unique<FakeEngine>(std::move(info))),
        pool_(std::make_unique<TaskPool>(2, 4096)) {
    ApiConfig config;
    config.served_model_names = {"fake-model"};
    api_ = std::make_unique<Api>(*engine_, std::make_shared<FakeCodec>(), config,
                                 [p = pool_.get()](std::function<void()> task) {
                                   return p->try_submit(std::move(task));
                                 });
    http.host = "127.0.0.1";
    http.port = 0;
    auto server = HttpServer::start(http, [a = api_.get()](HttpRequest r,
                                                           std::shared_ptr<Responder> responder) {
      a->handle(std::move(r), std::move(responder));
    });
    if (!server) throw std::runtime_error(server.error().message());
    server_ = std::move(*server);
    api_->set_connection_counter([s = server_.get()] { return s->connections(); });
    if (step_interval.count() >= 0) engine_->start(step_interval);
  }

  // The order matters: nothing may call into the API once it is gone, and the engine must
  // release its sinks (which hold connections) before the server goes.
  ~InProcessServer() {
    server_->shutdown(std::chrono::milliseconds(0));
    engine_->stop();
    pool_->stop();
    engine_.reset();
    api_.reset();
    server_.reset();
  }

  uint16_t port() const { return server_->port(); }
  FakeEngine& engine() { return *engine_; }
  Api& api() { return *api_; }
  HttpServer& server() { return *server_; }

 private:
  std::unique_ptr<FakeEngine> engine_;
  std::unique_ptr<TaskPool> pool_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace kvtier::server::testing
