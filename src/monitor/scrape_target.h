#pragma once
// A Prometheus endpoint to scrape: `--scrape NAME=URL`, loopback only.
#include <string>

#include "common/status.h"

namespace kvtier::monitor {

struct ScrapeTarget {
  std::string name;  // the PMNS component under openmetrics.
  std::string host;  // 127.0.0.1, localhost or ::1
  int port = 0;
  std::string path = "/metrics";
  std::string url;   // as given

  // "engine=http://127.0.0.1:8000/metrics"; NAME must be a PCP name component
  // ([A-Za-z][A-Za-z0-9_]*), the URL http:// on a loopback address.
  static Expected<ScrapeTarget> parse(const std::string& spec);
};

}  // namespace kvtier::monitor
