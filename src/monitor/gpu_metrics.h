#pragma once
// GPU metrics under the nvidia PMDA's names and PMIDs (domain 120, instances "gpu0", "gpu1",
// ...), plus what that PMDA lacks and offload work needs: clocks and PCIe throughput each way.
#include "common/status.h"
#include "monitor/archive_writer.h"
#include "monitor/gpu_source.h"

namespace kvtier::monitor {

class GpuMetrics {
 public:
  // Declares the metrics and one instance per GPU of `source`.
  Status declare(ArchiveWriter& writer, const GpuSource& source);
  // Reads every GPU and puts what it reported; a GPU that fails to read is left out of this
  // record (its error is returned in `warning`).
  Status put(ArchiveWriter& writer, GpuSource& source, std::string& warning);
};

}  // namespace kvtier::monitor
