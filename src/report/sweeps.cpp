#include "report/sweeps.h"

#include <algorithm>
#include <cstdlib>

namespace kvtier::report {
namespace {

bool as_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

std::vector<Sweep> find_sweeps(const Group& g) {
  std::vector<Sweep> out;
  for (size_t i = 0; i < g.arms.size(); ++i) {
    const Arm& a = g.arms[i];
    if (a.sweep_key.empty()) continue;
    auto s = std::find_if(out.begin(), out.end(), [&](const Sweep& s) {
      return s.config == a.config && s.key == a.sweep_key;
    });
    if (s == out.end()) {
      out.push_back({a.config, a.sweep_key, {}});
      s = std::prev(out.end());
    }
    s->arms.push_back(i);
  }
  for (auto& s : out) {
    bool numeric = true;
    for (size_t i : s.arms) {
      double v;
      numeric &= as_number(g.arms[i].sweep_value, v);
    }
    std::stable_sort(s.arms.begin(), s.arms.end(), [&](size_t x, size_t y) {
      const auto& a = g.arms[x].sweep_value;
      const auto& b = g.arms[y].sweep_value;
      if (!numeric) return a < b;
      double va = 0, vb = 0;
      as_number(a, va);
      as_number(b, vb);
      return va < vb;
    });
  }
  return out;
}

}  // namespace kvtier::report
