#include "common/status.h"

#include <gtest/gtest.h>

namespace kvtier {
namespace {

Expected<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("value {} is not positive", v);
  return v;
}

Expected<int> doubled(int v) {
  KVTIER_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status s = invalid_argument("field '{}' must be a number", "max_tokens");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.to_string(), "invalid_argument: field 'max_tokens' must be a number");
}

TEST(Expected, PropagatesErrors) {
  auto ok = doubled(4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "value -1 is not positive");
}

}  // namespace
}  // namespace kvtier
