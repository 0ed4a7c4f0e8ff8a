#pragma once
// Builds the scheduler an EndpointPickerConfig describes. Supported plugin types:
//   scorers  queue-scorer, kv-cache-utilization-scorer, load-aware-scorer, prefix-cache-scorer,
//            precise-prefix-cache-scorer, active-request-scorer, session-affinity-scorer,
//            no-hit-lru-scorer
//   pickers  max-score-picker (the default when a profile names none), random-picker,
//            weighted-random-picker
//   filters  by-label, by-label-selector, decode-filter, prefill-filter (endpoint labels)
//   handler  single-profile-handler (one profile; pd-profile-handler is refused)
// Errors name the plugin and the parameter ("plugin 'p' (prefix-cache-scorer): parameter
// 'lruCapacityPerServer' must be >= 1, got 0").
#include <memory>
#include <vector>

#include "common/status.h"
#include "router/endpoint.h"
#include "router/picker_config.h"
#include "router/scheduler.h"

namespace kvtier::router {

Expected<std::unique_ptr<Scheduler>> build_scheduler(const EndpointPickerConfig& config,
                                                     const std::vector<EndpointAddress>& endpoints,
                                                     uint64_t seed = std::random_device{}());

}  // namespace kvtier::router
