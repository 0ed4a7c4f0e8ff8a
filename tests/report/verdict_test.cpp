// The verdict rule on synthetic repeats: noise, real effects, single runs, refused comparisons.
#include <gtest/gtest.h>

#include "report/estimate.h"
#include "report/html_page.h"
#include "report/markdown.h"
#include "report/report_files.h"
#include "report_fixtures.h"

namespace kvtier::report {
namespace {

using testing::Level;
using testing::results_file;
using testing::RunSetup;
using testing::scaled;
using testing::TempDir;
using testing::write_file;

const Level kLow = {5, 5.0, 640, 1.0, 1.0, 65, 64, 7.5, 7.3};
const Level kHigh = {25, 14.0, 1900, 1.7, 1.7, 105, 100, 12.4, 12.2};

// Repeats of one arm: each level scaled per repeat by (throughput, latency) factors.
std::vector<std::filesystem::path> write_repeats(
    const TempDir& dir, const std::string& arm,
    const std::vector<std::pair<double, double>>& low_factors,
    const std::vector<std::pair<double, double>>& high_factors, const RunSetup& setup = {}) {
  std::vector<std::filesystem::path> files;
  for (size_t i = 0; i < low_factors.size(); ++i) {
    const auto path = dir.path() / fmt::format("{}-r{}.json", arm, i + 1);
    write_file(path, results_file({scaled(kLow, low_factors[i].first, low_factors[i].second),
                                   scaled(kHigh, high_factors[i].first, high_factors[i].second)},
                                  setup));
    files.push_back(path);
  }
  return files;
}

TEST(Estimate, MeanAndStandardError) {
  const Estimate e = estimate({100, 102, 98});
  EXPECT_DOUBLE_EQ(e.mean, 100);
  EXPECT_NEAR(e.se, 2 / std::sqrt(3.0), 1e-12);  // sd 2
  EXPECT_EQ(e.n, 3);
  const Estimate one = estimate({7, kMissing});
  EXPECT_EQ(one.n, 1);
  EXPECT_FALSE(one.has_bound());
  // +20%; se = 100 sqrt(1.1547^2 + 0.57735^2) / 100 = 1.291%
  const Change c = relative_change(e, estimate({120, 121, 119}));
  EXPECT_NEAR(c.percent, 20.0, 1e-9);
  EXPECT_NEAR(c.se, 1.2910, 1e-3);
  // A noisy baseline undercut by a steady candidate: -78% against a difference SE of 83% is noise
  // (the ratio's SE, 100 r sqrt(...) = 18%, would have called it a gain).
  const Change drop = relative_change(estimate({1123, 11786}), estimate({1388, 1404}));
  EXPECT_NEAR(drop.percent, -78.4, 0.1);
  EXPECT_NEAR(drop.se, 82.6, 0.1);
  EXPECT_EQ(classify(drop, /*higher_is_better=*/false), Effect::kWithinNoise);
  EXPECT_EQ(classify(c, /*higher_is_better=*/true), Effect::kGain);
  EXPECT_EQ(classify(c, /*higher_is_better=*/false), Effect::kLoss);
  EXPECT_EQ(classify(Change{3.0, 1.5}, true), Effect::kWithinNoise);  // exactly 2 SE: noise
  EXPECT_EQ(classify(Change{3.1, 1.5}, true), Effect::kGain);
  EXPECT_EQ(classify(Change{-3.1, 1.5}, true), Effect::kLoss);
  EXPECT_EQ(classify(Change{30, kMissing}, true), Effect::kNoBound);
  // Identical repeats (SE 0) of a change that shows as 0.0% are no gain; 0.1% is.
  EXPECT_EQ(classify(Change{0.04, 0.0}, true), Effect::kWithinNoise);
  EXPECT_EQ(classify(Change{-0.04, 0.0}, true), Effect::kWithinNoise);
  EXPECT_EQ(classify(Change{0.1, 0.0}, true), Effect::kGain);
  EXPECT_EQ(classify(relative_change(estimate({0, 0}), estimate({1, 2})), true), Effect::kUnknown);
}

TEST(Verdict, SameDistributionTwiceIsWithinNoise) {
  TempDir dir("kvtier-verdict-noise");
  // Both arms drawn from one distribution (+-4%); the candidate's first repeat alone is +16.7%
  // over the baseline's first, as in the report users complained about.
  const std::vector<std::pair<double, double>> base = {{0.96, 1.04}, {1.04, 0.97}, {1.0, 1.0}};
  const std::vector<std::pair<double, double>> cand = {{1.12, 0.96}, {0.94, 1.03}, {0.97, 1.02}};
  auto r = report_from_files({{"no-offload", write_repeats(dir, "base", base, base)},
                              {"native-offload", write_repeats(dir, "cand", cand, cand)}},
                             {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Group& g = r->groups[0];
  ASSERT_EQ(g.verdict.size(), 1u);
  EXPECT_EQ(g.verdict[0].effect, Effect::kWithinNoise);
  EXPECT_EQ(
      g.verdict[0].text.rfind("native-offload: no measurable effect at every concurrency (5: ", 0),
      0u)
      << g.verdict[0].text;
  for (const auto& level : g.comparisons[0].levels) {
    for (const auto& m : level) {
      EXPECT_NE(m.effect, Effect::kGain);
      EXPECT_NE(m.effect, Effect::kLoss);
    }
  }
  const std::string html = render_html(*r);
  EXPECT_EQ(html.find("class=\"gain\""), std::string::npos);
  EXPECT_EQ(html.find("class=\"loss\""), std::string::npos);
  const std::string md = render_markdown(*r);
  EXPECT_NE(md.find("(within noise)"), std::string::npos);
  EXPECT_EQ(md.find("(gain)"), std::string::npos);
  // Means with their SE: 640 x (0.96, 1.04, 1.0): sd 25.6, SE 25.6 / sqrt(3) = 14.8.
  EXPECT_NE(md.find("| 5 | 640.0 ± 14.8 |"), std::string::npos) << md;
}

TEST(Verdict, RealEffectsHaveTheRightSign) {
  TempDir dir("kvtier-verdict-effect");
  const std::vector<std::pair<double, double>> base = {{1.0, 1.0}, {1.02, 0.98}, {0.98, 1.02}};
  // At 5: no change. At 25: +20% throughput, TTFT (and every latency) x0.6.
  const std::vector<std::pair<double, double>> low = {{1.01, 0.99}, {0.99, 1.0}, {1.0, 1.01}};
  const std::vector<std::pair<double, double>> high = {{1.2, 0.6}, {1.21, 0.61}, {1.19, 0.59}};
  auto r = report_from_files({{"no-offload", write_repeats(dir, "base", base, base)},
                              {"native-offload", write_repeats(dir, "cand", low, high)}},
                             {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Group& g = r->groups[0];
  const auto& at25 = g.comparisons[0].levels[1];
  EXPECT_EQ(at25[static_cast<size_t>(Metric::kOutputTokensPerSecond)].effect, Effect::kGain);
  EXPECT_EQ(at25[static_cast<size_t>(Metric::kTtftP50)].effect, Effect::kGain);  // lower is better
  EXPECT_NEAR(at25[static_cast<size_t>(Metric::kTtftP50)].change.percent, -40.0, 1e-9);
  ASSERT_EQ(g.verdict.size(), 1u);
  EXPECT_EQ(g.verdict[0].effect, Effect::kGain);
  EXPECT_EQ(g.verdict[0].text,
            "native-offload: pays at concurrency 25: +20.0% ± 1.3% output tok/s, median TTFT "
            "-40.0% ± 1.3%; no measurable effect at concurrency 5: 0.0% ± 1.3% output tok/s, "
            "median TTFT 0.0% ± 1.3%");
  EXPECT_NE(render_html(*r).find("class=\"gain\">+20.0% ± 1.3% (gain)</td>"), std::string::npos);

  // The same numbers the other way round: the baseline is now the faster arm -> a loss.
  auto swapped = report_from_files({{"native-offload", write_repeats(dir, "cand", low, high)},
                                    {"no-offload", write_repeats(dir, "base", base, base)}},
                                   {});
  ASSERT_TRUE(swapped.has_value());
  EXPECT_EQ(swapped->groups[0].verdict[0].effect, Effect::kLoss);
  EXPECT_NE(swapped->groups[0].verdict[0].text.find("no-offload: costs at concurrency 25: -16.7%"),
            std::string::npos)
      << swapped->groups[0].verdict[0].text;
}

TEST(Verdict, SingleRunHasNoBoundAndNoColour) {
  TempDir dir("kvtier-verdict-single");
  auto r = report_from_files(
      {{"no-offload", write_repeats(dir, "base", {{1, 1}}, {{1, 1}})},
       {"native-offload", write_repeats(dir, "cand", {{1.167, 1}}, {{1.3, 0.5}})}},
      {});
  ASSERT_TRUE(r.has_value());
  const Group& g = r->groups[0];
  EXPECT_TRUE(g.single_run);
  ASSERT_EQ(g.verdict.size(), 1u);
  EXPECT_EQ(g.verdict[0].effect, Effect::kNoBound);
  EXPECT_NE(g.verdict[0].text.find(
                "single run: no noise bound; differences below ~10% are not meaningful"),
            std::string::npos)
      << g.verdict[0].text;
  EXPECT_NE(g.verdict[0].text.find("5: +16.7% output tok/s"), std::string::npos);
  const std::string html = render_html(*r);
  EXPECT_EQ(html.find("class=\"gain\""), std::string::npos);
  EXPECT_EQ(html.find("class=\"loss\""), std::string::npos);
  EXPECT_EQ(html.find("class=\"noise\""), std::string::npos);
  const std::string md = render_markdown(*r);
  EXPECT_NE(md.find("| 5 | 640.0 | 746.9 | +106.9 | +16.7% |"), std::string::npos) << md;
}

TEST(Verdict, MismatchedRunsAreRefusedUnlessForced) {
  struct Case {
    const char* what;
    RunSetup setup;
    const char* expected;
  };
  RunSetup rate;
  rate.profile = "constant";
  RunSetup data;
  data.data = "prompt_tokens=256,output_tokens=128";
  RunSetup model;
  model.model = "Qwen/Qwen3-8B";
  for (const Case& c : {Case{"profile", rate, "profile: concurrent 5, 25 ("},
                        Case{"data", data, "data: {\"output_tokens\":128,\"prefix_tokens\":10000"},
                        Case{"model", model, "model: Qwen/Qwen3-0.6B ("}}) {
    SCOPED_TRACE(c.what);
    TempDir dir("kvtier-verdict-mismatch");
    const std::vector<FileArm> arms = {
        {"no-offload", write_repeats(dir, "base", {{1, 1}}, {{1, 1}})},
        {"native-offload", write_repeats(dir, "cand", {{1, 1}}, {{1, 1}}, c.setup)}};
    auto refused = report_from_files(arms, {});
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
    const std::string& msg = refused.error().message();
    EXPECT_NE(msg.find(c.expected), std::string::npos) << msg;
    EXPECT_NE(msg.find("base-r1.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cand-r1.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--force"), std::string::npos) << msg;

    auto forced = report_from_files(arms, {/*force=*/true});
    ASSERT_TRUE(forced.has_value());
    ASSERT_EQ(forced->warnings.size(), 1u);
    EXPECT_NE(forced->warnings[0].find(c.expected), std::string::npos) << forced->warnings[0];
    const std::string md = render_markdown(*forced);
    EXPECT_EQ(md.find("> **WARNING**: Compared with --force although"),
              md.find('\n') + 2)  // right under the title
        << md;
    EXPECT_NE(
        render_html(*forced).find("<p class=\"warning\"><b>WARNING</b>: Compared with --force"),
        std::string::npos);
  }
  // The same data written as key=value and as JSON (keys in another order) is the same data.
  TempDir dir("kvtier-verdict-same-data");
  RunSetup kv;
  kv.data = "turns=5, prefix_tokens=10000,output_tokens=128,prompt_tokens=128";
  auto same = report_from_files({{"a", write_repeats(dir, "base", {{1, 1}}, {{1, 1}})},
                                 {"b", write_repeats(dir, "cand", {{1, 1}}, {{1, 1}}, kv)}},
                                {});
  EXPECT_TRUE(same.has_value()) << same.error().message();
}

TEST(Verdict, ErroredLevelsAreNamed) {
  TempDir dir("kvtier-verdict-errors");
  Level high = kHigh;
  high.errored = 3;
  write_file(dir.path() / "base.json", results_file({kLow, kHigh}));
  write_file(dir.path() / "cand.json", results_file({kLow, high}));
  auto r = report_from_files(
      {{"no-offload", {dir.path() / "base.json"}}, {"native-offload", {dir.path() / "cand.json"}}},
      {});
  ASSERT_TRUE(r.has_value());
  const auto& v = r->groups[0].verdict;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].text,
            "errors: native-offload at concurrency 25: 3.0 errored requests per run (mean of 1 "
            "run)");
}

}  // namespace
}  // namespace kvtier::report
