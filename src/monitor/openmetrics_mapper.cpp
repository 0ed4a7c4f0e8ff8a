#include "monitor/openmetrics_mapper.h"

#include <algorithm>
#include <set>
#include <vector>

namespace kvtier::monitor {
namespace {

constexpr int kOpenMetrics = 144;  // the openmetrics PMDA's domain

std::vector<std::string_view> name_parts(std::string_view name) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t us = name.find('_', start);
    parts.push_back(name.substr(start, us == std::string_view::npos ? us : us - start));
    if (us == std::string_view::npos) break;
    start = us + 1;
  }
  return parts;
}

// PCP name components start with a letter; after ':' becomes '.', each piece must too.
bool pcp_name_ok(const std::string& pcp_name) {
  size_t start = 0;
  while (start <= pcp_name.size()) {
    const size_t dot = pcp_name.find('.', start);
    const size_t end = dot == std::string::npos ? pcp_name.size() : dot;
    if (end == start || !std::isalpha(static_cast<unsigned char>(pcp_name[start]))) return false;
    for (size_t i = start; i < end; ++i) {
      const char c = pcp_name[i];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

std::string label_key(const PrometheusSample& s) {
  std::vector<std::pair<std::string, std::string>> labels = s.labels;
  std::sort(labels.begin(), labels.end());
  std::string key;
  for (const auto& [k, v] : labels) key += k + "=\"" + v + "\",";
  return key;
}

}  // namespace

MetricDesc openmetrics_desc(const std::string& source, int cluster, int item,
                            const std::string& sample_name, PrometheusType type) {
  MetricDesc d;
  d.name = "openmetrics." + source + "." + sample_name;
  std::replace(d.name.begin() + 12 + source.size(), d.name.end(), ':', '.');
  d.domain = kOpenMetrics;
  d.cluster = cluster;
  d.item = item;
  d.type = ValueType::kDouble;
  const auto parts = name_parts(sample_name);
  auto has = [&](std::string_view p) { return std::find(parts.begin(), parts.end(), p) != parts.end(); };
  const bool histogram_like = type == PrometheusType::kHistogram || type == PrometheusType::kSummary;
  if (type == PrometheusType::kCounter || has("total") || has("count") || has("sum") ||
      (type == PrometheusType::kHistogram && has("bucket"))) {
    d.semantics = Semantics::kCounter;
  } else {
    d.semantics = Semantics::kInstant;
  }
  if ((histogram_like && has("count")) || (type == PrometheusType::kHistogram && has("bucket"))) {
    d.units = kCount;
  } else if (has("seconds")) {
    d.units = kSeconds;
  } else if (has("microseconds")) {
    d.units = kMicrosec;
  } else if (has("bytes")) {
    d.units = kBytes;
  }
  return d;
}

std::string openmetrics_instance(int id, const PrometheusSample& sample) {
  if (sample.labels.empty()) return {};
  auto labels = sample.labels;
  std::sort(labels.begin(), labels.end());
  std::string name = std::to_string(id);
  for (const auto& [k, v] : labels) {
    std::string value = v;
    std::replace(value.begin(), value.end(), '\n', ' ');
    name += " " + k + ":" + value;
  }
  return name;
}

Status OpenMetricsSource::put(ArchiveWriter& w, std::string_view body, size_t& skipped) {
  skipped = 0;
  KVTIER_ASSIGN_OR_RETURN(auto samples, parse_prometheus_text(body));
  std::set<std::pair<const Metric*, int>> seen;  // one value per metric and instance per record
  for (const PrometheusSample& s : samples) {
    auto it = metrics_.find(s.name);
    if (it == metrics_.end()) {
      if (metrics_.size() >= kMaxMetricsPerSource) {
        ++skipped;
        continue;
      }
      Metric m;
      const int item = static_cast<int>(metrics_.size());
      m.desc = openmetrics_desc(name_, 1 + 4 * index_ + item / 1024, item % 1024, s.name, s.type);
      if (!pcp_name_ok(m.desc.name)) {
        ++skipped;
        continue;
      }
      m.singular = s.labels.empty();
      // One instance domain per metric, as the PMDA has it.
      if (!m.singular) m.desc.indom = ((index_ + 1) << 12) | item;
      if (!w.add_metric(m.desc)) {  // e.g. a name that is also another metric's prefix
        ++skipped;
        continue;
      }
      it = metrics_.emplace(s.name, std::move(m)).first;
    }
    Metric& m = it->second;
    if (m.singular != s.labels.empty()) {  // labels came or went: not representable
      ++skipped;
      continue;
    }
    std::string instance;
    int id = -1;
    if (!m.singular) {
      const std::string key = label_key(s);
      auto inst = m.instances.find(key);
      if (inst == m.instances.end()) {
        if (m.instances.size() >= kMaxInstancesPerMetric) {
          ++skipped;
          continue;
        }
        id = static_cast<int>(m.instances.size());
        instance = openmetrics_instance(id, s);
        KVTIER_RETURN_IF_ERROR(w.add_instance(m.desc, id, instance));
        m.instances.emplace(key, id);
        m.names.emplace(id, instance);
      } else {
        id = inst->second;
        instance = m.names[id];
      }
    }
    if (!seen.emplace(&m, id).second) {
      ++skipped;
      continue;
    }
    KVTIER_RETURN_IF_ERROR(w.put(m.desc.name, instance, s.value));
  }
  return Status::ok();
}

}  // namespace kvtier::monitor
