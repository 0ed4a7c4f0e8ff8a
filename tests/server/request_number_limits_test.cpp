// Numbers at the edges of what JSON and int64 hold, in a request body: a 400 naming the field
// or the number, never an exception or an overflow.
#include <gtest/gtest.h>

#include <limits>

#include "server/api_error.h"
#include "server/api_request.h"
#include "server/json_fields.h"

namespace kvtier::server {
namespace {

// nlohmann's parser throws out_of_range (not parse_error) for a number beyond a double.
TEST(RequestNumberLimits, NumberBeyondADoubleIsInvalidJson) {
  for (const char* body : {R"({"prompt": "x", "max_tokens": 1e999})", R"({"temperature": -1e400})"}) {
    auto parsed = parse_json_body(body);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(api_error_from(parsed.error()).status, 400);
    EXPECT_NE(parsed.error().message().find("Invalid JSON in the request body: number overflow"),
              std::string::npos)
        << parsed.error().message();
  }
}

// The message adds prompt and completion tokens: INT64_MAX max_tokens must not overflow it.
TEST(RequestNumberLimits, LargestMaxTokensIsTooLongForTheContext) {
  auto body = parse_json_body(R"({"prompt": "x", "max_tokens": 9223372036854775807})");
  ASSERT_TRUE(body);
  auto request = parse_completion_request(*body);
  ASSERT_TRUE(request) << request.error().message();
  Status s = fit_to_context(request->options, 5, 64, 16);
  ASSERT_FALSE(s);
  EXPECT_EQ(api_error_from(s).status, 400);
  EXPECT_NE(s.message().find("you requested 9223372036854775812 tokens (5 in the messages, "
                             "9223372036854775807 in the completion)"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace kvtier::server
