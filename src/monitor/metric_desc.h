#pragma once
// What a PCP archive records about a metric (a pmDesc plus its name), kept free of PCP's headers
// so that readers of this module need not include them.
#include <cstdint>
#include <string>

namespace kvtier::monitor {

enum class ValueType { kU32, kU64, kFloat, kDouble, kString };
enum class Semantics { kCounter, kInstant, kDiscrete };

// pmUnits: dimensions and scales (PM_SPACE_*, PM_TIME_*, PM_COUNT_* codes).
struct Units {
  int dim_space = 0;
  int dim_time = 0;
  int dim_count = 0;
  int scale_space = 0;
  int scale_time = 0;
  int scale_count = 0;
};

// Scale codes as pmapi.h has them.
inline constexpr int kSpaceByte = 0;
inline constexpr int kSpaceKByte = 1;
inline constexpr int kTimeUSec = 1;
inline constexpr int kTimeMSec = 2;
inline constexpr int kTimeSec = 3;

inline constexpr Units kNoUnits{};
inline constexpr Units kBytes{1, 0, 0, kSpaceByte, 0, 0};
inline constexpr Units kKBytes{1, 0, 0, kSpaceKByte, 0, 0};
inline constexpr Units kBytesPerSec{1, -1, 0, kSpaceByte, kTimeSec, 0};
inline constexpr Units kMillisec{0, 1, 0, 0, kTimeMSec, 0};
inline constexpr Units kMicrosec{0, 1, 0, 0, kTimeUSec, 0};
inline constexpr Units kSeconds{0, 1, 0, 0, kTimeSec, 0};
inline constexpr Units kCount{0, 0, 1, 0, 0, 0};
inline constexpr Units kCountPerSec{0, -1, 1, 0, kTimeSec, 0};

inline constexpr int kNoInDom = -1;

struct MetricDesc {
  std::string name;
  int domain = 0;
  int cluster = 0;
  int item = 0;
  ValueType type = ValueType::kDouble;
  int indom = kNoInDom;  // serial of the instance domain within `domain`, or kNoInDom
  Semantics semantics = Semantics::kInstant;
  Units units;
};

}  // namespace kvtier::monitor
