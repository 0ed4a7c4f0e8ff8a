#include "server/auth.h"

#include <cctype>
#include <cstddef>

namespace kvtier::server {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of `a` is visited whatever `b` holds; a length difference counts as a mismatch
  // without returning early. volatile keeps the compiler from ending the loop at the first
  // difference.
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    const unsigned char other = b.empty() ? 0 : static_cast<unsigned char>(b[i % b.size()]);
    diff = diff | (static_cast<unsigned char>(a[i]) ^ other);
  }
  return diff == 0;
}

bool bearer_key_matches(const std::string* authorization, std::string_view key) {
  if (!authorization) return false;
  std::string_view value = *authorization;
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || value[kScheme.size()] != ' ') return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return constant_time_equal(value, key);
}

}  // namespace kvtier::server
