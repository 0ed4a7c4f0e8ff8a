#pragma once
// The API key check of /v1 routes, as vLLM makes it: `Authorization: Bearer KEY` with the
// scheme in any case, the key compared in constant time so that response timing does not
// reveal how much of a guess was right.
#include <string>
#include <string_view>

namespace kvtier::server {

// True when `a` and `b` are equal; the time taken depends on their lengths only.
bool constant_time_equal(std::string_view a, std::string_view b);

// True when `authorization` (the header's value; null when absent) carries `key`.
bool bearer_key_matches(const std::string* authorization, std::string_view key);

}  // namespace kvtier::server
