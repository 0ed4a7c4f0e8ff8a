#include "bench/bench_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "bench/cli_values.h"

namespace kvtier::bench {
namespace {

bool is_integer(double v) { return std::floor(v) == v; }

Status check_rates(BenchConfig& c) {
  const auto name = profile_kind_name(c.profile);
  switch (c.profile) {
    case ProfileKind::kSynchronous:
      if (!c.rates.empty()) {
        return invalid_argument("--rate: not used by --profile {} (leave it out)", name);
      }
      break;
    case ProfileKind::kThroughput:
      // GuideLLM >= 0.5 requires the cap ("ThroughputProfile requires a rate parameter") and
      // takes the first --rate as max_concurrency.
      if (c.rates.empty()) {
        return invalid_argument(
            "--rate: --profile throughput needs the concurrency cap (its requests in flight), "
            "e.g. --rate 64");
      }
      if (c.rates[0] < 1 || !is_integer(c.rates[0])) {
        return invalid_argument(
            "--rate {}: throughput's concurrency cap must be a whole number >= 1", c.rates[0]);
      }
      if (c.rates.size() > 1) {
        c.warnings.push_back(fmt::format(
            "--rate: --profile throughput runs one benchmark; using its first value {} as the "
            "concurrency cap and ignoring the rest",
            c.rates[0]));
        c.rates.resize(1);
      }
      break;
    case ProfileKind::kConcurrent:
      if (c.rates.empty()) {
        return invalid_argument(
            "--rate: --profile concurrent needs the concurrency levels, "
            "e.g. --rate 5,25,50");
      }
      for (double r : c.rates) {
        if (r < 1 || !is_integer(r)) {
          return invalid_argument("--rate {}: concurrency must be a whole number >= 1", r);
        }
      }
      break;
    case ProfileKind::kConstant:
    case ProfileKind::kPoisson:
      if (c.rates.empty()) {
        return invalid_argument("--rate: --profile {} needs requests per second, e.g. --rate 2",
                                name);
      }
      for (double r : c.rates) {
        if (!(r > 0)) return invalid_argument("--rate {}: requests per second must be > 0", r);
      }
      break;
    case ProfileKind::kSweep:
      if (!c.rates.empty() && (c.rates[0] < 2 || !is_integer(c.rates[0]))) {
        return invalid_argument("--rate {}: a sweep's size must be a whole number >= 2",
                                c.rates[0]);
      }
      break;
  }
  return Status::ok();
}

Status apply_backend_kwargs(const nlohmann::json& kw, BenchConfig& c,
                            std::optional<int64_t>& max_tokens) {
  constexpr std::string_view kFlag = "--backend-kwargs";
  KVTIER_RETURN_IF_ERROR(
      check_keys(kFlag, kw,
                 {"api_key", "timeout", "timeout_connect", "headers", "extras", "extra_body",
                  "validate_backend", "stream", "http2", "follow_redirects", "verify",
                  "request_format", "model", "max_tokens", "max_completion_tokens", "target"}));
  auto string_field = [&](const char* key, std::string& out) -> Status {
    auto it = kw.find(key);
    if (it == kw.end() || it->is_null()) return Status::ok();
    if (!it->is_string()) {
      return invalid_argument("{}: {} must be a string, got {}", kFlag, key, it->dump());
    }
    out = it->get<std::string>();
    return Status::ok();
  };
  auto bool_field = [&](const char* key, bool& out) -> Status {
    auto it = kw.find(key);
    if (it == kw.end() || it->is_null()) return Status::ok();
    if (!it->is_boolean()) {
      return invalid_argument("{}: {} must be true or false, got {}", kFlag, key, it->dump());
    }
    out = it->get<bool>();
    return Status::ok();
  };
  auto headers_into = [&](const nlohmann::json& h, const std::string& where) -> Status {
    if (!h.is_object()) {
      return invalid_argument("{}: {} must be an object of strings, got {}", kFlag, where,
                              h.dump());
    }
    for (const auto& [name, value] : h.items()) {
      if (value.is_null()) {
        c.http.headers.erase(name);
      } else if (value.is_string()) {
        c.http.headers[name] = value.get<std::string>();
      } else {
        return invalid_argument("{}: {}.{} must be a string, got {}", kFlag, where, name,
                                value.dump());
      }
    }
    return Status::ok();
  };
  auto body_into = [&](const nlohmann::json& b, const std::string& where) -> Status {
    if (!b.is_object()) {
      return invalid_argument("{}: {} must be an object, got {}", kFlag, where, b.dump());
    }
    for (const auto& [key, value] : b.items()) c.extra_body[key] = value;
    return Status::ok();
  };

  std::string api_key;
  KVTIER_RETURN_IF_ERROR(string_field("api_key", api_key));
  if (!api_key.empty()) c.http.headers["Authorization"] = "Bearer " + api_key;
  std::optional<double> timeout, timeout_connect;
  KVTIER_RETURN_IF_ERROR(read_number_field(kFlag, kw, "timeout", 0.0, timeout));
  KVTIER_RETURN_IF_ERROR(read_number_field(kFlag, kw, "timeout_connect", 0.0, timeout_connect));
  if (timeout && *timeout > 0) c.http.read_timeout_s = *timeout;
  if (timeout_connect && *timeout_connect > 0) c.http.connect_timeout_s = *timeout_connect;
  if (auto h = kw.find("headers"); h != kw.end() && !h->is_null()) {
    KVTIER_RETURN_IF_ERROR(headers_into(*h, "headers"));
  }
  if (auto e = kw.find("extra_body"); e != kw.end() && !e->is_null()) {
    KVTIER_RETURN_IF_ERROR(body_into(*e, "extra_body"));
  }
  if (auto e = kw.find("extras"); e != kw.end() && !e->is_null()) {
    if (!e->is_object()) {
      return invalid_argument("{}: extras must be an object, got {}", kFlag, e->dump());
    }
    const bool structured = e->contains("body") || e->contains("headers") || e->contains("params");
    if (structured) {
      KVTIER_RETURN_IF_ERROR(check_keys("--backend-kwargs extras", *e, {"body", "headers"}));
      if (e->contains("body")) KVTIER_RETURN_IF_ERROR(body_into((*e)["body"], "extras.body"));
      if (e->contains("headers")) {
        KVTIER_RETURN_IF_ERROR(headers_into((*e)["headers"], "extras.headers"));
      }
    } else {
      KVTIER_RETURN_IF_ERROR(body_into(*e, "extras"));
    }
  }
  KVTIER_RETURN_IF_ERROR(bool_field("validate_backend", c.validate_backend));
  KVTIER_RETURN_IF_ERROR(bool_field("stream", c.stream));
  bool unused = false;
  for (const char* key : {"http2", "follow_redirects", "verify"}) {
    KVTIER_RETURN_IF_ERROR(bool_field(key, unused));
  }
  std::string format;
  KVTIER_RETURN_IF_ERROR(string_field("request_format", format));
  if (!format.empty()) {
    KVTIER_ASSIGN_OR_RETURN(c.request_format, parse_request_format(format));
  }
  KVTIER_RETURN_IF_ERROR(string_field("model", c.model));
  std::string target;
  KVTIER_RETURN_IF_ERROR(string_field("target", target));
  if (!target.empty()) {
    KVTIER_ASSIGN_OR_RETURN(c.target, parse_target(target));
    c.target_url = target;
  }
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, kw, "max_tokens", 1, max_tokens));
  KVTIER_RETURN_IF_ERROR(read_int_field(kFlag, kw, "max_completion_tokens", 1, max_tokens));
  return Status::ok();
}

Status resolve_outputs(const RawBenchArgs& raw, BenchConfig& c) {
  std::vector<std::string> outputs;
  for (const auto& o : raw.outputs) {
    // --outputs json,csv and repeated --outputs both work.
    size_t pos = 0;
    while (pos <= o.size()) {
      size_t comma = o.find(',', pos);
      if (comma == std::string::npos) comma = o.size();
      if (comma > pos) outputs.push_back(o.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  c.output_dir = raw.output_dir.empty() ? std::filesystem::current_path()
                                        : std::filesystem::path(raw.output_dir);
  if (!raw.output_path.empty()) {
    if (!raw.output_dir.empty()) {
      return invalid_argument("--output-path: cannot be combined with --output-dir");
    }
    std::filesystem::path p(raw.output_path);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      c.output_dir = p;
    } else {
      c.output_dir = p.has_parent_path() ? p.parent_path() : std::filesystem::current_path();
      outputs = {p.filename().string()};
    }
  }
  if (outputs.empty()) outputs = {"json", "csv"};
  for (const auto& o : outputs) {
    if (o == "json") {
      c.outputs.push_back({OutputKind::kJson, c.output_dir / "benchmarks.json"});
    } else if (o == "csv") {
      c.outputs.push_back({OutputKind::kCsv, c.output_dir / "benchmarks.csv"});
    } else if (o == "html") {
      c.outputs.push_back({OutputKind::kHtml, c.output_dir / "benchmarks.html"});
    } else if (o == "yaml") {
      c.outputs.push_back({OutputKind::kYaml, c.output_dir / "benchmarks.yaml"});
    } else if (o == "console") {
      // Tables go to the console anyway unless --disable-console.
    } else {
      std::filesystem::path p = c.output_dir / std::filesystem::path(o);
      const std::string ext = p.extension().string();
      if (ext == ".json") {
        c.outputs.push_back({OutputKind::kJson, p});
      } else if (ext == ".csv") {
        c.outputs.push_back({OutputKind::kCsv, p});
      } else if (ext == ".html" || ext == ".htm") {
        c.outputs.push_back({OutputKind::kHtml, p});
      } else if (ext == ".yaml" || ext == ".yml") {
        c.outputs.push_back({OutputKind::kYaml, p});
      } else {
        return invalid_argument(
            "--outputs {}: expected json, csv, html, yaml, console or a file name ending in "
            ".json, .csv, .html or .yaml",
            o);
      }
    }
  }
  return Status::ok();
}

}  // namespace

Expected<ProfileKind> parse_profile_kind(std::string_view text) {
  if (text == "synchronous") return ProfileKind::kSynchronous;
  if (text == "concurrent") return ProfileKind::kConcurrent;
  if (text == "throughput") return ProfileKind::kThroughput;
  if (text == "constant" || text == "async") return ProfileKind::kConstant;
  if (text == "poisson") return ProfileKind::kPoisson;
  if (text == "sweep") return ProfileKind::kSweep;
  return invalid_argument(
      "--profile/--rate-type '{}': expected synchronous, concurrent, throughput, constant, "
      "poisson or sweep",
      text);
}

std::string_view profile_kind_name(ProfileKind kind) {
  switch (kind) {
    case ProfileKind::kSynchronous:
      return "synchronous";
    case ProfileKind::kConcurrent:
      return "concurrent";
    case ProfileKind::kThroughput:
      return "throughput";
    case ProfileKind::kConstant:
      return "constant";
    case ProfileKind::kPoisson:
      return "poisson";
    case ProfileKind::kSweep:
      return "sweep";
  }
  return "sweep";
}

Expected<BenchConfig> make_bench_config(const RawBenchArgs& raw) {
  BenchConfig c;
  if (raw.target.empty())
    return invalid_argument("--target: required (e.g. http://localhost:8000)");
  c.target_url = raw.target;
  KVTIER_ASSIGN_OR_RETURN(c.target, parse_target(raw.target));

  if (raw.data.empty()) {
    return invalid_argument(
        "--data: required, e.g. --data '{{\"prompt_tokens\":128,\"output_tokens\":128}}'");
  }
  if (raw.data.size() > 1) return invalid_argument("--data: give it once (one synthetic config)");
  c.data_text = raw.data[0];
  if (raw.data_json) {
    auto data = data_config_from_json(*raw.data_json);
    if (!data) {
      return Status(data.error().code(),
                    fmt::format("--data {}: {}", raw.data[0], data.error().message()));
    }
    c.data = std::move(data).value();
  } else {
    KVTIER_ASSIGN_OR_RETURN(c.data, parse_data_config(raw.data[0]));
  }
  if (!c.data.ignored_keys.empty()) {
    std::string keys;
    for (const auto& k : c.data.ignored_keys) keys += (keys.empty() ? "'" : ", '") + k + "'";
    // GuideLLM's SyntheticTextDatasetConfig allows extra keys (pydantic extra="allow") and
    // ignores them; a typo then silently changes the workload, so say which were ignored.
    c.warnings.push_back(fmt::format(
        "--data: ignoring unknown key{} {} (known: prompt_tokens, output_tokens and their "
        "_stdev/_min/_max, prefix_tokens, prefix_count, prefix_buckets, turns)",
        c.data.ignored_keys.size() > 1 ? "s" : "", keys));
  }

  KVTIER_ASSIGN_OR_RETURN(c.profile, parse_profile_kind(raw.profile));
  KVTIER_ASSIGN_OR_RETURN(c.rates, parse_number_list("--rate", raw.rate));
  KVTIER_RETURN_IF_ERROR(check_rates(c));

  if (raw.backend != "openai_http" && raw.backend != "openai") {
    return invalid_argument("--backend '{}': only openai_http is supported", raw.backend);
  }
  if (raw.max_seconds && !(*raw.max_seconds > 0)) {
    return invalid_argument("--max-seconds {}: must be > 0", *raw.max_seconds);
  }
  if (raw.max_requests && *raw.max_requests < 1) {
    return invalid_argument("--max-requests {}: must be >= 1", *raw.max_requests);
  }
  if (raw.max_errors && *raw.max_errors < 1) {
    return invalid_argument("--max-errors {}: must be >= 1", *raw.max_errors);
  }
  if (!raw.max_seconds && !raw.max_requests) {
    return invalid_argument(
        "--max-seconds / --max-requests: give at least one (synthetic data never runs out)");
  }
  c.max_seconds = raw.max_seconds;
  c.max_requests = raw.max_requests;
  c.max_errors = raw.max_errors;
  if (raw.max_error_rate) {
    // GuideLLM's ErrorRate: a fraction strictly between 0 and 1.
    if (!(*raw.max_error_rate > 0 && *raw.max_error_rate < 1)) {
      return invalid_argument("--max-error-rate {}: must be a fraction between 0 and 1, e.g. 0.05",
                              *raw.max_error_rate);
    }
    c.max_error_rate = raw.max_error_rate;
  }
  if (raw.rampup) {
    if (!(*raw.rampup >= 0) || !std::isfinite(*raw.rampup)) {
      return invalid_argument("--rampup {}: must be seconds >= 0", *raw.rampup);
    }
    if (c.profile == ProfileKind::kSynchronous || c.profile == ProfileKind::kPoisson) {
      // GuideLLM passes rampup_duration only to concurrent, throughput and constant strategies.
      return invalid_argument(
          "--rampup: applies to concurrent, throughput, constant and sweep (its throughput "
          "benchmark), not {}",
          profile_kind_name(c.profile));
    }
    if (c.max_seconds && *raw.rampup >= *c.max_seconds) {
      return invalid_argument("--rampup {}: must be shorter than --max-seconds {}", *raw.rampup,
                              *c.max_seconds);
    }
    c.rampup = *raw.rampup;
  }
  if (raw.max_concurrency) {
    if (*raw.max_concurrency < 1) {
      return invalid_argument("--max-concurrency {}: must be >= 1", *raw.max_concurrency);
    }
    if (c.profile == ProfileKind::kSynchronous || c.profile == ProfileKind::kConcurrent ||
        c.profile == ProfileKind::kThroughput) {
      return invalid_argument(
          "--max-concurrency: applies to constant, poisson and sweep, not {} (its --rate is the "
          "concurrency)",
          profile_kind_name(c.profile));
    }
    c.max_concurrency = raw.max_concurrency;
  }
  if (c.profile == ProfileKind::kThroughput) c.max_concurrency = static_cast<int64_t>(c.rates[0]);
  if (!raw.warmup.empty()) {
    KVTIER_ASSIGN_OR_RETURN(c.warmup, parse_phase("--warmup", raw.warmup));
  }
  if (!raw.cooldown.empty()) {
    KVTIER_ASSIGN_OR_RETURN(c.cooldown, parse_phase("--cooldown", raw.cooldown));
  }
  if (raw.random_seed) c.random_seed = *raw.random_seed;
  if (raw.sample_requests) {
    if (*raw.sample_requests < 0) {
      return invalid_argument("--sample-requests {}: must be >= 0", *raw.sample_requests);
    }
    c.sample_requests = raw.sample_requests;
  }
  KVTIER_RETURN_IF_ERROR(resolve_outputs(raw, c));
  if (!raw.request_type.empty()) {
    KVTIER_ASSIGN_OR_RETURN(c.request_format, parse_request_format(raw.request_type));
  }
  c.processor = raw.processor;
  c.model = raw.model;
  std::optional<int64_t> max_tokens;
  if (!raw.backend_kwargs.empty()) {
    KVTIER_ASSIGN_OR_RETURN(c.backend_kwargs,
                            parse_object_value("--backend-kwargs", raw.backend_kwargs));
    KVTIER_RETURN_IF_ERROR(apply_backend_kwargs(c.backend_kwargs, c, max_tokens));
  }
  if (max_tokens && !c.data.output) {
    c.extra_body[c.request_format == RequestFormat::kChatCompletions ? "max_completion_tokens"
                                                                     : "max_tokens"] = *max_tokens;
  }
  if (raw.io_threads < 0) return invalid_argument("--io-threads {}: must be >= 1", raw.io_threads);
  c.io_threads = raw.io_threads > 0
                     ? raw.io_threads
                     : std::clamp(static_cast<int>(std::thread::hardware_concurrency()) / 2, 1, 4);
  c.console = !raw.disable_console;
  c.progress = !raw.disable_progress && !raw.disable_console;
  return c;
}

nlohmann::json BenchConfig::args_json() const {
  auto opt = [](const auto& o) { return o ? nlohmann::json(*o) : nlohmann::json(nullptr); };
  nlohmann::json kwargs = backend_kwargs;
  if (kwargs.contains("api_key")) kwargs["api_key"] = "***";
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& o : outputs) outs.push_back(o.path.string());
  // What tells runs apart (profile, rates, data, model, request type, limits) is always here;
  // the data also parsed and normalised, so `prompt_tokens=128` and its JSON compare equal.
  return {{"target", target_url},
          {"data", {data_text}},
          {"data_config", data.to_json()},
          {"profile", profile_kind_name(profile)},
          {"rate_type", profile_kind_name(profile)},
          {"rate", rates.empty() ? nlohmann::json(nullptr) : nlohmann::json(rates)},
          {"backend", "openai_http"},
          {"backend_kwargs", kwargs},
          {"model", model.empty() ? nlohmann::json(nullptr) : nlohmann::json(model)},
          {"request_format", request_format_route(request_format)},
          {"request_type", request_format_name(request_format)},
          {"processor", processor.empty() ? nlohmann::json(nullptr) : nlohmann::json(processor)},
          {"random_seed", random_seed},
          {"output_dir", output_dir.string()},
          {"outputs", outs},
          {"sample_requests", opt(sample_requests)},
          {"max_seconds", opt(max_seconds)},
          {"max_requests", opt(max_requests)},
          {"max_errors", opt(max_errors)},
          {"max_error_rate", opt(max_error_rate)},
          {"max_concurrency", opt(max_concurrency)},
          {"rampup", rampup},
          {"warmup", warmup.empty() ? nlohmann::json(nullptr) : warmup.to_json()},
          {"cooldown", cooldown.empty() ? nlohmann::json(nullptr) : cooldown.to_json()}};
}

}  // namespace kvtier::bench
