#include "report/run_identity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace kvtier::report {
namespace {

using Json = nlohmann::json;

const Json* find(const Json& root, std::initializer_list<const char*> path) {
  const Json* node = &root;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return node->is_null() ? nullptr : node;
}

std::string text_of(const Json& j) {
  return j.is_string() ? j.get<std::string>() : j.dump();
}

// A number, a list of numbers, or "5,25,50".
std::vector<double> numbers_of(const Json& j) {
  std::vector<double> out;
  if (j.is_number()) {
    out.push_back(j.get<double>());
  } else if (j.is_array()) {
    for (const auto& v : j) {
      auto inner = numbers_of(v);
      out.insert(out.end(), inner.begin(), inner.end());
    }
  } else if (j.is_string()) {
    std::stringstream in(j.get<std::string>());
    std::string part;
    while (std::getline(in, part, ',')) {
      try {
        out.push_back(std::stod(part));
      } catch (const std::exception&) {
        return {};
      }
    }
  }
  return out;
}

Json scalar_of(const std::string& text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? Json(text) : parsed;
}

std::string join_numbers(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ", ") + fmt::format("{:g}", x);
  return s;
}

bool same_rates(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::fabs(a[i] - b[i]) > 1e-9 * std::max(1.0, std::fabs(a[i]))) return false;
  }
  return true;
}

}  // namespace

std::string canonical_data(const Json& data) {
  if (data.is_array() && data.size() == 1) return canonical_data(data[0]);
  if (data.is_object()) return data.dump();  // nlohmann's objects keep keys sorted
  if (!data.is_string()) return data.dump();
  const std::string text = data.get<std::string>();
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && parsed.is_object()) return parsed.dump();
  if (text.find('=') == std::string::npos) return text;  // a file or dataset name
  Json object = Json::object();
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    const size_t eq = part.find('=');
    if (eq == std::string::npos) return text;
    auto trim = [](std::string s) {
      const auto b = s.find_first_not_of(" \t");
      const auto e = s.find_last_not_of(" \t");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    object[trim(part.substr(0, eq))] = scalar_of(trim(part.substr(eq + 1)));
  }
  return object.dump();
}

RunIdentity read_run_identity(const Json& root,
                              const std::vector<std::pair<std::string, double>>& levels) {
  RunIdentity id;
  const Json empty = Json::object();
  const Json& args = root.contains("args") && root["args"].is_object() ? root["args"] : empty;
  const Json& first =
      root.contains("benchmarks") && root["benchmarks"].is_array() && !root["benchmarks"].empty()
          ? root["benchmarks"][0]
          : empty;
  if (const Json* tool = find(root, {"metadata", "tool"})) {
    id.tool = text_of(*tool);
  } else if (find(first, {"config", "environment"}) == nullptr &&
             (root.contains("metadata") || find(first, {"worker"}))) {
    id.tool = "guidellm";
  }

  // Profile: the top-level args, then the first benchmark's profile, then the levels.
  if (const Json* p = find(args, {"profile"}); p && p->is_string()) {
    id.rate_type = p->get<std::string>();
  } else if (const Json* rt = find(args, {"rate_type"})) {
    id.rate_type = text_of(*rt);
  }
  if (const Json* r = find(args, {"rate"})) id.rates = numbers_of(*r);
  for (const char* holder : {"config", "args"}) {
    const Json* profile = find(first, {holder, "profile"});
    if (!profile || !profile->is_object()) continue;
    if (id.rate_type.empty() && profile->contains("type_")) {
      id.rate_type = text_of((*profile)["type_"]);
    }
    for (const char* key : {"streams", "rate", "rates"}) {
      if (id.rates.empty() && profile->contains(key)) id.rates = numbers_of((*profile)[key]);
    }
  }
  if (id.rate_type.empty() && !levels.empty()) id.rate_type = levels.front().first;
  if (id.rates.empty() && id.rate_type != "sweep") {
    for (const auto& [strategy, level] : levels) id.rates.push_back(level);
  }
  std::sort(id.rates.begin(), id.rates.end());
  id.rates.erase(std::unique(id.rates.begin(), id.rates.end()), id.rates.end());

  for (const Json* d : {find(args, {"data"}), find(first, {"config", "requests", "data"}),
                        find(first, {"request_loader", "data"})}) {
    if (d && !(d->is_array() && d->empty())) {
      id.data = canonical_data(*d);
      break;
    }
  }
  for (const Json* m :
       {find(root, {"metadata", "model"}), find(args, {"model"}),
        find(first, {"config", "backend", "model"}), find(first, {"worker", "backend_model"})}) {
    if (m && !text_of(*m).empty()) {
      id.model = text_of(*m);
      break;
    }
  }
  for (const char* key : {"target", "max_seconds", "max_requests", "random_seed", "warmup",
                          "cooldown", "request_format", "processor"}) {
    if (const Json* v = find(args, {key})) id.settings.emplace_back(key, text_of(*v));
  }
  return id;
}

std::string describe_profile(const RunIdentity& id) {
  std::string s = id.rate_type.empty() ? "unknown" : id.rate_type;
  if (!id.rates.empty()) s += " " + join_numbers(id.rates);
  return s;
}

std::vector<std::string> identity_differences(const RunIdentity& a, const std::string& a_name,
                                              const RunIdentity& b, const std::string& b_name) {
  std::vector<std::string> out;
  auto differ = [&](const char* what, const std::string& av, const std::string& bv) {
    out.push_back(fmt::format("{}: {} ({}) vs {} ({})", what, av, a_name, bv, b_name));
  };
  const bool types_known = !a.rate_type.empty() && !b.rate_type.empty();
  const bool rates_known = !a.rates.empty() && !b.rates.empty();
  if ((types_known && a.rate_type != b.rate_type) ||
      (rates_known && !same_rates(a.rates, b.rates))) {
    differ("profile", describe_profile(a), describe_profile(b));
  }
  if (!a.data.empty() && !b.data.empty() && a.data != b.data) differ("data", a.data, b.data);
  if (!a.model.empty() && !b.model.empty() && a.model != b.model) {
    differ("model", a.model, b.model);
  }
  return out;
}

}  // namespace kvtier::report
