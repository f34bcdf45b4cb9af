// The readers under the applications: CSV tables, UTF-8 text, the sampler
// and the forecasting arithmetic, each against values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "csv_table.h"
#include "forecast_data.h"
#include "sampler.h"
#include "utf8.h"

namespace lstmkit::cli {
namespace {

std::string ErrorOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(CsvTable, ReadsQuotedFieldsHeadersAndPlaces) {
  const CsvTable table =
      ParseCsv("name,value\n\"a, b\",1\n\n\"say \"\"hi\"\"\", 2.5\r\n", "t.csv",
               HeaderMode::kAuto);
  ASSERT_EQ(table.header, (std::vector<std::string>{"name", "value"}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][0], "a, b");
  EXPECT_EQ(table.rows[1][0], "say \"hi\"");
  EXPECT_EQ(NumberAt(table, 1, 1), 2.5);
  EXPECT_EQ(table.PlaceOf(1, 1), "t.csv:4:14: ");  // line 3 is blank
  EXPECT_EQ(FindColumn(table, "value", "--target"), 1);
  EXPECT_EQ(FindColumn(table, "1", "--target"), 0);
}

TEST(CsvTable, GuessesTabsAndSeesNoHeaderInNumbers) {
  const CsvTable table = ParseCsv("1\t2\n3\t4\n", "t.tsv", HeaderMode::kAuto);
  EXPECT_EQ(table.delimiter, '\t');
  EXPECT_TRUE(table.header.empty());
  EXPECT_EQ(table.rows.size(), 2u);
}

TEST(CsvTable, MalformedRowsNameLineAndColumn) {
  EXPECT_EQ(
      ErrorOf([] { ParseCsv("a,b\n1,\"2\n", "m.csv", HeaderMode::kAuto); }),
      "m.csv:2:3: quoted field is never closed");
  EXPECT_EQ(ErrorOf([] {
              ParseCsv("a,b\n1,2\n3,4,5\n", "m.csv", HeaderMode::kAuto);
            }),
            "m.csv:3:5: expected 2 fields, as on line 1, found 3");
  EXPECT_NE(ErrorOf([] {
              ParseCsv("a,b\n1,2\"x\n", "m.csv", HeaderMode::kAuto);
            }).find("m.csv:2:4: stray '\"'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              ParseCsv("\n\n", "m.csv", HeaderMode::kAuto);
            }).find("m.csv: no rows"),
            std::string::npos);
}

TEST(CsvTable, NumbersRejectBlanksNanAndText) {
  const CsvTable table = ParseCsv("t,v\n1,1\n2,nan\n3, \n4,2x\n5,-inf\n",
                                  "n.csv", HeaderMode::kAuto);
  EXPECT_EQ(NumberAt(table, 0, 1), 1.0);
  EXPECT_NE(
      ErrorOf([&] { NumberAt(table, 1, 1); }).find("n.csv:3:3: 'v': 'nan'"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf([&] { NumberAt(table, 2, 1); }).find("n.csv:4:3: 'v': blank"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf([&] { NumberAt(table, 3, 1); }).find("'2x' is not a number"),
      std::string::npos);
  EXPECT_NE(ErrorOf([&] { NumberAt(table, 4, 1); }).find("not a finite number"),
            std::string::npos);
}

TEST(Utf8, DecodesEveryLengthAndEncodesBack) {
  const std::string bytes = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  const std::u32string text = DecodeUtf8(bytes, "s");
  EXPECT_EQ(text, (std::u32string{U'a', 0xE9, 0x20AC, 0x1F600}));
  EXPECT_EQ(EncodeUtf8(text), bytes);
  EXPECT_EQ(DecodeUtf8("\xEF\xBB\xBFx", "s"), U"x");  // the BOM is dropped
}

TEST(Utf8, RejectsWhatIsNotUtf8WithItsPlace) {
  EXPECT_EQ(ErrorOf([] { DecodeUtf8("ab\ncd\xFF", "t.txt"); }).substr(0, 31),
            "t.txt:2:3: invalid UTF-8 (byte ");
  for (const std::string bad :
       {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\x80"}) {
    EXPECT_NE(ErrorOf([&] { DecodeUtf8(bad, "s"); }), "") << bad.size();
  }
}

TEST(Sampler, TopOneIsTheLikeliestAndSeedsRepeat) {
  const std::vector<float> p = {0.1f, 0.6f, 0.3f};
  Sampler greedy(1.0, 1, 5);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(greedy.Sample(p), 1);
  Sampler a(1.0, 0, 9), b(1.0, 0, 9);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.Sample(p), b.Sample(p));
}

TEST(Sampler, FollowsTheTemperedDistribution) {
  const std::vector<float> p = {0.2f, 0.8f};
  for (double temperature : {1.0, 0.5}) {
    Sampler sampler(temperature, 0, 3);
    int ones = 0;
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) ones += sampler.Sample(p);
    const double w0 = std::pow(0.2, 1 / temperature);
    const double w1 = std::pow(0.8, 1 / temperature);
    EXPECT_NEAR(static_cast<double>(ones) / draws, w1 / (w0 + w1), 0.015)
        << "temperature " << temperature;
  }
}

TEST(Forecasting, SeasonalNaiveLooksWholeSeasonsBack) {
  std::vector<double> y(30);
  for (int i = 0; i < 30; ++i) y[i] = i;
  EXPECT_EQ(SeasonalNaive(y, 20, 1, 12), 9);    // row 21 - 12
  EXPECT_EQ(SeasonalNaive(y, 20, 12, 12), 20);  // row 32 - 12
  EXPECT_EQ(SeasonalNaive(y, 20, 13, 12), 9);   // row 33 - 24
  EXPECT_EQ(SeasonalNaive(y, 20, 3, 1), 20);    // naive: the last value
}

TEST(Forecasting, ErrorsAreRmseAndMae) {
  const ErrorSummary e = Errors({1, 2, 6}, {1, 4, 3});
  EXPECT_DOUBLE_EQ(e.rmse, std::sqrt((0 + 4 + 9) / 3.0));
  EXPECT_DOUBLE_EQ(e.mae, (0 + 2 + 3) / 3.0);
}

TEST(Forecasting, RelativeWindowsSubtractTheLastInput) {
  ForecastSpec spec;
  spec.window = 3;
  spec.horizon = 2;
  const std::vector<float> channels = {1, 2, 4, 8, 16, 32};
  const Dataset data = Windows(channels, spec, 2, 3);
  ASSERT_EQ(data.num_samples, 2);
  EXPECT_EQ(data.inputs, (std::vector<float>{-3, -2, 0, -6, -4, 0}));
  EXPECT_EQ(data.targets, (std::vector<float>{4, 12, 8, 24}));
  spec.relative = false;
  EXPECT_EQ(Windows(channels, spec, 2, 2).targets, (std::vector<float>{8, 16}));
}

}  // namespace
}  // namespace lstmkit::cli
