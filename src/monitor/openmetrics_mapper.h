#pragma once
// Scraped Prometheus samples as PCP's openmetrics PMDA names them, so archives of ours and of
// that PMDA read alike:
//   metric    openmetrics.<SOURCE>.<sample name with ':' as '.'>, one per sample name
//             (a histogram's _bucket, _sum and _count are three metrics);
//   instance  "<id> <label>:<value> ..." with labels sorted by name, unquoted (the PMDA's
//             prefix form, which keeps names unique before the first space); none for a
//             sample without labels;
//   type      double; semantics counter for `# TYPE counter` and for names with a _total,
//             _count or _sum part and histogram buckets, instant otherwise;
//   units     count for histogram/summary counts and buckets, else from the name's parts:
//             seconds, microseconds, bytes.
// New metrics and instances are declared as they appear, up to the caps.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "common/prometheus_text.h"
#include "common/status.h"
#include "monitor/archive_writer.h"

namespace kvtier::monitor {

inline constexpr size_t kMaxMetricsPerSource = 4096;  // 4 PMID clusters of 1,024 items
inline constexpr size_t kMaxInstancesPerMetric = 4096;

// The PMDA's rules for one sample's metric, without the archive.
MetricDesc openmetrics_desc(const std::string& source, int cluster, int item,
                            const std::string& sample_name, PrometheusType type);
// "3 engine:0 model_name:qwen" for id 3; empty for a sample without labels.
std::string openmetrics_instance(int id, const PrometheusSample& sample);

class OpenMetricsSource {
 public:
  // `index` (0, 1, ...) tells this source's PMIDs apart from other sources': source i owns
  // clusters 1 + 4i .. 4 + 4i (1,024 items each, kMaxMetricsPerSource in all) and instance
  // domains (i + 1) << 12 | item.
  OpenMetricsSource(std::string name, int index) : name_(std::move(name)), index_(index) {}

  const std::string& name() const { return name_; }

  // Parses `body` and puts each sample into the record being built. A body that does not parse
  // puts nothing (a gap) and returns the parser's error. Samples past the caps, with names PCP
  // cannot hold, or repeated in one body are skipped and counted in `skipped`.
  Status put(ArchiveWriter& writer, std::string_view body, size_t& skipped);

 private:
  struct Metric {
    MetricDesc desc;
    bool singular = false;
    std::map<std::string, int> instances;  // label key ("a=1,b=2") -> id
    std::map<int, std::string> names;      // id -> instance name
  };

  std::string name_;
  int index_;
  std::map<std::string, Metric> metrics_;  // by sample name
};

}  // namespace kvtier::monitor
