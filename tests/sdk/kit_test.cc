// The conformance kit (kiln/testing.hpp) against this tree's kilnctl: the
// example plugins pass every standard check, and each check catches the
// defect it is for (the loader's gallery provides the defective plugins).
#include <string>

#include <gtest/gtest.h>

#include "kiln/testing.hpp"

namespace {

using kiln::testing::Options;

// row_count (plain C) through the whole standard suite. KILN_PLUGIN_PATH is it.
KILN_CONFORMANCE_TESTS(RowCount, {
    .dates = {"2024-10-22", "2025-01-20"},
    .options = {{"input", KILN_EXAMPLE_GAMES}, {"output_dir", "{tmp}/out"}},
    .output_root = "{tmp}/out",
    .rejected_options = {{"input", std::string(1100, 'x')}},  // configure: longer than 1023 bytes
    .failing_options = {{"input", "{tmp}/no_such.csv"}},
});

// rolling_average (C++), via the fixture's plugin() override.
class RollingAverageKit : public kiln::testing::ConformanceTest {
 protected:
  std::string plugin() const override { return KILN_EXAMPLE_ROLLING_AVERAGE; }
  kiln::testing::Conformance spec() const override {
    return {
        .dates = {"2024-10-23", "2025-01-20"},
        .options = {{"input", KILN_EXAMPLE_GAMES}, {"output_dir", "{tmp}/out"}},
        .output_root = "{tmp}/out",
        .rejected_options = {{"window", "0"}, {"window", "83"}, {"window", "five"}},
        .failing_options = {{"input", "{tmp}/no_such.csv"}},
    };
  }
};

TEST_F(RollingAverageKit, Loads) { CheckLoads(); }
TEST_F(RollingAverageKit, RunsEveryFixtureDay) { CheckRunsEveryDay(); }
TEST_F(RollingAverageKit, Idempotent) { CheckIdempotent(); }
TEST_F(RollingAverageKit, DryRun) { CheckDryRun(); }
TEST_F(RollingAverageKit, UnknownOption) { CheckUnknownOptionRejected(); }
TEST_F(RollingAverageKit, MissingRequired) { CheckMissingRequiredOptionsRejected(); }
TEST_F(RollingAverageKit, RejectedOptions) { CheckRejectedOptions(); }
TEST_F(RollingAverageKit, FailingRun) { CheckFailingRunFailsCleanly(); }

TEST_F(RollingAverageKit, RunDayReportsPhasesAndRecords) {
  const kiln::testing::RunOutcome r = RunDay("2025-01-20");
  ASSERT_TRUE(r.ok()) << r.summary();
  ASSERT_EQ(r.days.size(), 1u);
  EXPECT_EQ(r.day().partition, "2025-01-20");
  EXPECT_EQ(r.day().status, "succeeded");
  ASSERT_NE(r.day().phase("extract"), nullptr);
  EXPECT_GT(r.day().phase("extract")->records, 0u);
  EXPECT_GT(r.records(), 0u);
}

// The kit's checks fail when they should, with the problem in the message.
TEST(Kit, VerifyNamesEveryMissingMethod) {
  const ::testing::AssertionResult r = kiln::testing::Verify(KILN_GALLERY_NO_EXTRACT_SAVE);
  ASSERT_FALSE(r);
  const std::string m = r.message();
  EXPECT_NE(m.find("missing required methods: extract, save"), std::string::npos) << m;
  EXPECT_NE(m.find("method extract: missing"), std::string::npos) << m;
  EXPECT_NE(m.find("method save: missing"), std::string::npos) << m;
}

TEST(Kit, VerifyRefusesGnuUniqueSymbols) {
  const ::testing::AssertionResult r = kiln::testing::Verify(KILN_GALLERY_GNU_UNIQUE);
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("STB_GNU_UNIQUE"), std::string::npos) << r.message();
  EXPECT_TRUE(kiln::testing::Verify(KILN_GALLERY_GNU_UNIQUE, /*allow_gnu_unique=*/true));
}

TEST(Kit, VerifyReportsAMissingFile) {
  const ::testing::AssertionResult r = kiln::testing::Verify("/nonexistent/plugin.so");
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("/nonexistent/plugin.so"), std::string::npos) << r.message();
}

TEST(Kit, InspectReadsTheSchema) {
  const kiln::testing::PluginReport p = kiln::testing::Inspect(KILN_EXAMPLE_ROLLING_AVERAGE);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.name, "rolling_average");
  EXPECT_TRUE(p.partitioned);
  ASSERT_NE(p.option("window"), nullptr);
  EXPECT_FALSE(p.option("window")->required);
  EXPECT_EQ(p.option("window")->type, "int");
  EXPECT_EQ(p.option("window")->default_value, "5");
  EXPECT_EQ(p.methods.size(), 8u);
}

TEST(Kit, RunFailsSeesAFailingPhaseAndStops) {
  const kiln::testing::RunOutcome r = kiln::testing::RunDay(KILN_GALLERY_FAIL_EXTRACT, "2025-01-20");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_code(), 1) << r.summary();
  ASSERT_EQ(r.days.size(), 1u) << r.summary();
  EXPECT_EQ(r.day().status, "failed");
  ASSERT_EQ(r.day().phases.size(), 1u) << r.summary();  // validate and later never ran
  EXPECT_FALSE(r.day().phases[0].ok);
  EXPECT_TRUE(kiln::testing::RunFails(KILN_GALLERY_FAIL_EXTRACT, "2025-01-20", {}, "extract"));
  // And RunFails fails on a run that succeeds.
  EXPECT_FALSE(kiln::testing::RunFails(KILN_EXAMPLE_ROLLING_AVERAGE, "2025-01-20",
                                       {{"input", KILN_EXAMPLE_GAMES}, {"output_dir", "/tmp"}},
                                       ""));
}

TEST(Kit, OptionRejectedFailsWhenTheValueIsAccepted) {
  const Options base = {{"input", KILN_EXAMPLE_GAMES}, {"output_dir", ::testing::TempDir() + "kiln-kit-out"}};
  EXPECT_TRUE(kiln::testing::OptionRejected(KILN_EXAMPLE_ROLLING_AVERAGE, "window", "0", base));
  const ::testing::AssertionResult accepted =
      kiln::testing::OptionRejected(KILN_EXAMPLE_ROLLING_AVERAGE, "window", "7", base, "2025-01-20");
  ASSERT_FALSE(accepted);
  EXPECT_NE(std::string(accepted.message()).find("was accepted"), std::string::npos) << accepted.message();
}

TEST(Kit, JsonReader) {
  kiln::testing::Json j;
  std::string error;
  ASSERT_TRUE(kiln::testing::Json::Parse(R"( {"a": [1, 2.5, -3e2], "s": "x\"\u00e9\ud83d\ude00", "t": true,
                                              "n": null, "o": {}} )",
                                         &j, &error))
      << error;
  EXPECT_EQ(j["a"].size(), 3u);
  EXPECT_EQ(j["a"][1].number(), 2.5);
  EXPECT_EQ(j["a"][2].number(), -300);
  EXPECT_EQ(j["s"].string(), "x\"\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(j["t"].boolean());
  EXPECT_TRUE(j["n"].is_null());
  EXPECT_TRUE(j["missing"]["deeper"].is_null());
  EXPECT_TRUE(j["o"].is_object());
  EXPECT_FALSE(kiln::testing::Json::Parse("{\"a\": }", &j, &error));
  EXPECT_FALSE(kiln::testing::Json::Parse("[1, 2", &j, &error));
  EXPECT_FALSE(kiln::testing::Json::Parse("{} x", &j, &error));
}

}  // namespace
