#include "server/api.h"

#include <ctime>
#include <new>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/api_request.h"
#include "server/auth.h"
#include "server/json_fields.h"

namespace kvtier::server {

using json = nlohmann::ordered_json;
using nlohmann::ordered_json;

namespace {

std::string dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse json_response(const ordered_json& body) {
  HttpResponse response;
  response.body = dump(body);
  return response;
}

// A browser's CORS preflight, answered as vLLM's CORS middleware (any origin, method and header).
HttpResponse cors_preflight(const HttpRequest& request) {
  HttpResponse response;
  response.content_type.clear();
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  response.headers.emplace_back("Access-Control-Allow-Methods",
                                "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
  const std::string* asked = request.header("access-control-request-headers");
  if (asked) response.headers.emplace_back("Access-Control-Allow-Headers", *asked);
  response.headers.emplace_back("Access-Control-Max-Age", "600");
  response.headers.emplace_back("Vary", "Origin");
  return response;
}

}  // namespace

RequestHandler starting_handler() {
  return [](HttpRequest, std::shared_ptr<Responder> responder) {
    responder->send(
        error_response(ApiError{503, "the server is starting: the model is loading", {}}));
  };
}

Api::Api(engine::EngineClient& engine, std::shared_ptr<const TextCodec> codec, ApiConfig config,
         Offload offload)
    : engine_(engine),
      codec_(std::move(codec)),
      config_(std::move(config)),
      offload_(std::move(offload)),
      metrics_(engine.info().max_model_len),
      in_flight_(std::make_shared<std::atomic<int64_t>>(0)),
      started_at_(int64_t(std::time(nullptr))) {
  if (config_.served_model_names.empty()) {
    config_.served_model_names.push_back(engine.info().model_name);
  }
}

Api::~Api() = default;

std::string Api::new_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   std::hash<std::thread::id>{}(std::this_thread::get_id())};
  return fmt::format("{}{:016x}{:016x}", prefix, rng(), rng());
}

bool Api::authorized(const HttpRequest& request) const {
  if (config_.api_key.empty()) return true;
  return bearer_key_matches(request.header("authorization"), config_.api_key);
}

Status Api::check_model(const std::optional<std::string>& model) const {
  if (!model) return Status::ok();
  for (const auto& name : config_.served_model_names) {
    if (*model == name) return Status::ok();
  }
  return not_found("The model `{}` does not exist.", *model);
}

void Api::handle(HttpRequest request, std::shared_ptr<Responder> responder) {
  std::string_view path = request.path();
  const std::string& method = request.method;
  auto reply = [&](HttpResponse response) { responder->send(std::move(response)); };
  auto fail = [&](int status, std::string message) {
    reply(error_response(ApiError{status, std::move(message), {}}));
  };
  auto wrong_method = [&](const char* allowed) {
    HttpResponse response = error_response(ApiError{
        405, fmt::format("method {} is not allowed for {} (use {})", method, path, allowed), {}});
    response.headers.emplace_back("Allow", allowed);
    reply(std::move(response));
  };

  // CORS preflights carry no credentials: vLLM answers them before its key check.
  if (method == "OPTIONS") return reply(cors_preflight(request));
  if (path.starts_with("/v1/") && !authorized(request)) {
    return fail(401, "Unauthorized: missing or invalid API key (Authorization: Bearer <key>)");
  }
  // /ping is vLLM's (SageMaker's) name for /health, on GET and POST.
  if (path == "/health" || path == "/ping") {
    bool ping = path == "/ping";
    if (method != "GET" && method != "HEAD" && !(ping && method == "POST")) {
      return wrong_method(ping ? "GET, POST" : "GET");
    }
    if (draining_) return fail(503, "the server is shutting down");
    HttpResponse ok;
    ok.content_type.clear();
    return reply(std::move(ok));
  }
  // vLLM's server load: generation requests from arrival until their response is written, only
  // with --enable-server-load-tracking (else 0, as vLLM's counter is never moved).
  if (path == "/load") {
    if (method != "GET") return wrong_method("GET");
    return reply(json_response(
        {{"server_load", config_.enable_server_load_tracking ? in_flight() : int64_t(0)}}));
  }
  if (path == "/version") {
    if (method != "GET") return wrong_method("GET");
    return reply(json_response({{"version", config_.version}}));
  }
  if (path == "/metrics") {
    if (method != "GET") return wrong_method("GET");
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics_text();
    return reply(std::move(response));
  }
  if (path == "/v1/models") {
    if (method != "GET") return wrong_method("GET");
    return reply(models());
  }
  if (path == "/v1/completions" || path == "/v1/chat/completions") {
    if (method != "POST") return wrong_method("POST");
    if (draining_) return fail(503, "the server is shutting down: not accepting new requests");
    Kind kind = path == "/v1/completions" ? Kind::kCompletion : Kind::kChat;
    return start_generation(kind, std::move(request), std::move(responder));
  }
  if (path == "/tokenize" || path == "/detokenize") {
    if (method != "POST") return wrong_method("POST");
    bool encode = path == "/tokenize";
    return offload_json(std::move(request), std::move(responder),
                        [this, encode](const json& body) {
                          return encode ? tokenize(body) : detokenize(body);
                        });
  }
  fail(404, fmt::format("route {} {} not found", method, path));
}

std::string Api::metrics_text() const {
  MetricsContext context;
  context.model_name = model_name();
  context.info = engine_.info();
  context.stats = engine_.stats();
  context.requests = metrics_.snapshot();
  context.cache_config = config_.cache_config;
  context.requests_in_flight = in_flight();
  context.http_connections = connection_counter_ ? connection_counter_() : 0;
  return render_metrics(context);
}

HttpResponse Api::models() const {
  ordered_json data = ordered_json::array();
  for (const auto& name : config_.served_model_names) {
    ordered_json permission;
    permission["id"] = "modelperm-" + name;
    permission["object"] = "model_permission";
    permission["created"] = started_at_;
    permission["allow_create_engine"] = false;
    permission["allow_sampling"] = true;
    permission["allow_logprobs"] = true;
    permission["allow_search_indices"] = false;
    permission["allow_view"] = true;
    permission["allow_fine_tuning"] = false;
    permission["organization"] = "*";
    permission["group"] = nullptr;
    permission["is_blocking"] = false;
    ordered_json card;
    card["id"] = name;
    card["object"] = "model";
    card["created"] = started_at_;
    card["owned_by"] = "kvtier";
    card["root"] = config_.model_root.empty() ? name : config_.model_root;
    card["parent"] = nullptr;
    card["max_model_len"] = engine_.info().max_model_len;
    card["permission"] = ordered_json::array({std::move(permission)});
    data.push_back(std::move(card));
  }
  return json_response({{"object", "list"}, {"data", std::move(data)}});
}

void Api::offload_json(HttpRequest request, std::shared_ptr<Responder> responder,
                       std::function<HttpResponse(const json&)> handler) {
  auto task = [request = std::move(request), responder, handler = std::move(handler)] {
    HttpResponse response;
    try {
      Expected<json> body = parse_json_body(request.body);
      response = body ? handler(*body) : error_response(api_error_from(body.error()));
    } catch (const std::bad_alloc&) {
      response = error_response(out_of_memory_error(request.body.size()));
    } catch (const std::exception& e) {
      response = error_response(ApiError{500, fmt::format("internal error: {}", e.what()), {}});
    }
    responder->post([responder, response = std::move(response)]() mutable {
      responder->send(std::move(response));
    });
  };
  if (!offload_(std::move(task))) {
    responder->send(error_response(
        ApiError{503, "the server is overloaded: too many requests waiting for tokenization", {}}));
  }
}

HttpResponse Api::tokenize(const json& body) const {
  if (!body.is_object()) return error_response(ApiError{400, "the request body must be a JSON object", {}});
  auto model = body.find("model");
  if (model != body.end() && model->is_string()) {
    if (Status s = check_model(model->get<std::string>()); !s) {
      return error_response(api_error_from(s));
    }
  }
  if (!codec_) return error_response(ApiError{400, "this server has no tokenizer", {}});
  std::string text;
  bool add_special_tokens = false;  // vLLM's defaults: false for a chat, true for a prompt
  if (body.contains("messages")) {
    auto parsed = parse_chat_request(body);
    if (!parsed) return error_response(api_error_from(parsed.error()));
    auto rendered = render_chat_prompt(*codec_, *parsed, config_.trust_request_chat_template,
                                       request_templates_);
    if (!rendered) return error_response(api_error_from(rendered.error()));
    text = std::move(*rendered);
    add_special_tokens = parsed->add_special_tokens;
  } else {
    auto prompt = body.find("prompt");
    if (prompt == body.end() || !prompt->is_string()) {
      return error_response(
          ApiError{400, "/tokenize needs \"prompt\" (a string) or \"messages\" (a chat)", {}});
    }
    text = prompt->get<std::string>();
    auto add = read_bool(body, "add_special_tokens");
    if (!add) return error_response(api_error_from(add.error()));
    add_special_tokens = add->value_or(true);
  }
  auto ids = codec_->encode_prompt(text, add_special_tokens);
  if (!ids) return error_response(api_error_from(ids.error()));
  ordered_json out;
  out["count"] = ids->size();
  out["max_model_len"] = engine_.info().max_model_len;
  out["tokens"] = *ids;
  auto strs = body.find("return_token_strs");
  if (strs != body.end() && strs->is_boolean() && strs->get<bool>()) {
    ordered_json list = ordered_json::array();
    for (int32_t id : *ids) list.push_back(codec_->token_text(id));
    out["token_strs"] = std::move(list);
  } else {
    out["token_strs"] = nullptr;
  }
  return json_response(out);
}

HttpResponse Api::detokenize(const json& body) const {
  if (!body.is_object()) return error_response(ApiError{400, "the request body must be a JSON object", {}});
  if (!codec_) return error_response(ApiError{400, "this server has no tokenizer", {}});
  auto tokens = body.find("tokens");
  if (tokens == body.end() || !tokens->is_array()) {
    return error_response(ApiError{400, "/detokenize needs \"tokens\": a list of token ids", {}});
  }
  std::vector<int32_t> ids;
  for (size_t i = 0; i < tokens->size(); ++i) {
    const json& v = (*tokens)[i];
    if (!v.is_number_integer()) {
      return error_response(ApiError{400, fmt::format("tokens[{}] must be an integer", i), {}});
    }
    int64_t id = v.get<int64_t>();
    if (id < 0 || id >= codec_->vocab_size()) {
      return error_response(ApiError{
          400, fmt::format("tokens[{}]: token id {} is out of vocabulary (vocab_size {})", i, id,
                           codec_->vocab_size()),
          {}});
    }
    ids.push_back(int32_t(id));
  }
  return json_response({{"prompt", codec_->decode(ids, false)}});
}

}  // namespace kvtier::server
