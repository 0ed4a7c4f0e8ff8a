#pragma once
// System metrics under the linux PMDA's names, PMIDs (domain 60), types, semantics and units,
// so an archive of ours reads like one pmlogger wrote: pmrep turns the counters into rates.
#include <map>
#include <string>

#include "common/status.h"
#include "monitor/archive_writer.h"
#include "monitor/proc_reader.h"

namespace kvtier::monitor {

class SystemMetrics {
 public:
  // Declares every system metric in `writer`.
  Status declare(ArchiveWriter& writer);
  // Puts the parts of `sample` that were read; network interfaces join the instance domain
  // as they appear.
  Status put(ArchiveWriter& writer, const SystemSample& sample);

 private:
  std::map<std::string, int> interface_ids_;  // network.interface instance name -> id
};

}  // namespace kvtier::monitor
