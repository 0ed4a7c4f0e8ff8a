#pragma once
// Arms that sweep one flag of one config (`<config>@<key>=<value>`), ordered by value, for the
// swept-flag charts and tables.
#include <string>
#include <vector>

#include "report/report_model.h"

namespace kvtier::report {

struct Sweep {
  std::string config, key;
  std::vector<size_t>
      arms;  // indices into Group::arms, by value (numerically when all are numbers)
};

std::vector<Sweep> find_sweeps(const Group& g);

}  // namespace kvtier::report
