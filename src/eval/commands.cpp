#include "eval/commands.h"

#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "eval/yaml_fields.h"

namespace kvtier::eval {

namespace fs = std::filesystem;

fs::path default_model_cache() {
  if (const char* dir = std::getenv("KVTIER_MODEL_CACHE"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return fs::path(xdg) / "kvtier" / "models";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return fs::path(home) / ".cache" / "kvtier" / "models";
  }
  return fs::temp_directory_path() / "kvtier-models";
}

std::string model_argument(const ModelSpec& m, const fs::path& model_cache) {
  if (!m.path.empty()) return m.path.string();
  if (m.load_format_dummy) return m.preset;
  return (model_cache / m.preset).string();
}

Argv make_model_command(const std::string& kvtier, const ModelSpec& m, const fs::path& out) {
  return {kvtier, "make-model", "--preset", m.preset, "--out", out.string()};
}

Argv serve_command(const std::string& kvtier, const Experiment& e, const ModelSpec& m,
                   const fs::path& model_cache, const Arm& arm, const WorkloadSpec& w,
                   const std::string& port) {
  Argv argv = {kvtier, "serve", model_argument(m, model_cache), "--host", "127.0.0.1",
               "--port", port, "--device", e.device};
  if (m.load_format_dummy) {
    argv.push_back("--load-format");
    argv.push_back("dummy");
  }
  for (const auto& [flag, value] : arm_flags(e, arm, &w)) {
    // Bools follow serve's switches: true gives --flag, false --no-flag.
    if (value.is_boolean()) {
      argv.push_back(value.get<bool>() ? "--" + flag : "--no-" + flag);
      continue;
    }
    argv.push_back("--" + flag);
    argv.push_back(json_to_arg(value));
  }
  return argv;
}

Argv route_command(const std::string& kvtier, const Experiment& e, const ModelSpec& m,
                   const fs::path& model_cache, const std::vector<std::string>& engine_urls,
                   const std::string& port) {
  Argv argv = {kvtier, "route", "--host", "127.0.0.1", "--port", port};
  std::string endpoints;
  for (const auto& url : engine_urls) endpoints += (endpoints.empty() ? "" : ",") + url;
  argv.push_back("--endpoint");
  argv.push_back(endpoints);
  if (!e.topology.router_config.empty()) {
    argv.push_back("--config");
    argv.push_back(e.topology.router_config.string());
  }
  // The router tokenizes prompts as the engines do: with the model folder's tokenizer (a
  // dummy-loaded preset has no folder; route then uses the bundled Qwen3 tokenizer, the same).
  if (!m.load_format_dummy) {
    argv.push_back("--model");
    argv.push_back(model_argument(m, model_cache));
  }
  return argv;
}

Argv bench_command(const std::string& kvtier, const WorkloadSpec& w, const std::string& target,
                   const fs::path& outputs) {
  Argv argv = {kvtier, "bench", "run", "--target", target, "--rate-type", w.rate_type};
  if (!w.rates.empty()) {
    std::string rates;
    for (double r : w.rates) rates += (rates.empty() ? "" : ",") + json_to_arg(r);
    argv.push_back("--rate");
    argv.push_back(rates);
  }
  auto add = [&](const char* flag, const std::string& value) {
    argv.push_back(flag);
    argv.push_back(value);
  };
  if (w.max_seconds) add("--max-seconds", json_to_arg(*w.max_seconds));
  if (w.max_requests) add("--max-requests", std::to_string(*w.max_requests));
  if (w.warmup) add("--warmup", json_to_arg(*w.warmup));
  if (w.cooldown) add("--cooldown", json_to_arg(*w.cooldown));
  if (!w.data.empty()) add("--data", w.data);
  if (!w.request_type.empty()) add("--request-type", w.request_type);
  add("--outputs", outputs.string());
  argv.push_back("--disable-console-interactive");
  argv.insert(argv.end(), w.extra.begin(), w.extra.end());
  return argv;
}

Argv monitor_command(const std::string& kvtier, const fs::path& archive, double interval_s,
                     const std::vector<std::string>& scrapes, const std::string& gpu) {
  Argv argv = {kvtier, "monitor", "--archive", archive.string(), "--interval",
               json_to_arg(interval_s) + "s"};
  if (interval_s != double(int64_t(interval_s))) {
    argv.back() = fmt::format("{}ms", int64_t(interval_s * 1000 + 0.5));
  }
  for (const auto& s : scrapes) {
    argv.push_back("--scrape");
    argv.push_back(s);
  }
  argv.push_back("--gpu");
  argv.push_back(gpu);
  return argv;
}

Argv report_command(const std::string& kvtier, const fs::path& out) {
  return {kvtier, "report", out.string(), "--out", (out / "report").string()};
}

std::string shell_join(const Argv& argv) {
  std::string line;
  for (const auto& a : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !a.empty();
    for (char c : a) {
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) ||
                        std::string_view("-_./=:,@%+").find(c) != std::string_view::npos);
    }
    if (plain) {
      line += a;
      continue;
    }
    line += '\'';
    for (char c : a) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

}  // namespace kvtier::eval
