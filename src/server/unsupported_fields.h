#pragma once
// vLLM request fields whose behaviour kvtier does not implement. A request that sets one to
// anything but its default gets a 400 naming the field, so that no field is silently ignored.
#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kvtier::server {

// Checks the fields both completion APIs share (structured outputs). `chat` is for
// fields only chat requests carry (none at present).
Status refuse_unsupported_fields(const nlohmann::ordered_json& body, bool chat);

}  // namespace kvtier::server
