#pragma once
// The "System" part of a model x workload's results: per arm and level, CPU busy %, host memory,
// GPU utilisation and memory, and PCIe GB/s each way, from the cells' monitor archives (mean ±
// SE over the repeats that had one). Nothing is rendered when no cell of the group has an
// archive; the GPU columns and PCIe charts only when some archive has GPU metrics.
#include <string>

#include "report/report_model.h"

namespace kvtier::report {

bool has_system_metrics(const Group& g);
bool has_gpu_metrics(const Group& g);

void system_markdown(std::string& out, const Group& g);
void system_html(std::string& html, const Group& g);

}  // namespace kvtier::report
