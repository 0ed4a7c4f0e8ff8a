#pragma once
// What a benchmarks.json says about how it was run, and which parts must agree before two runs
// are compared: the profile (rate type and requested rates), the data (`--data`) and the model.
// Read from `kvtier bench`'s and GuideLLM's layouts (top-level `args`, each benchmark's
// `config`, or GuideLLM 0.3's per-benchmark `args` / `request_loader` / `worker`).
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace kvtier::report {

struct RunIdentity {
  std::string tool;           // "kvtier bench", "guidellm", or "" when not recorded
  std::string rate_type;      // "concurrent", "constant", ...; "" when not recorded
  std::vector<double> rates;  // requested levels, ascending; empty when not recorded
  std::string data;           // canonical form of --data (JSON keys sorted); "" unknown
  std::string model;          // "" when not recorded
  // Other recorded settings shown in the Test Configuration (target, seed, max seconds, ...).
  std::vector<std::pair<std::string, std::string>> settings;
};

// `levels` (strategy, level) stands in for the profile when the file records none.
RunIdentity read_run_identity(const nlohmann::json& root,
                              const std::vector<std::pair<std::string, double>>& levels);

// "key=value,..." or JSON text -> one canonical string, so equal data compare equal.
std::string canonical_data(const nlohmann::json& data);

// Human-readable differences ("profile: concurrent 5, 25 (a.json) vs constant 2 (b.json)").
// A field recorded by only one side is not a difference (it cannot be checked).
std::vector<std::string> identity_differences(const RunIdentity& a, const std::string& a_name,
                                              const RunIdentity& b, const std::string& b_name);

std::string describe_profile(const RunIdentity& id);  // "concurrent 5, 25, 50"

}  // namespace kvtier::report
