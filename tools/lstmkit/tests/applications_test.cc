// The applications end to end, in-process: train, eval, predict and
// generate for each task on small data made here, Ctrl-C and --resume, and
// one clear line and a non-zero exit for each kind of bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "lstmkit/lstmkit.hpp"
#include "utf8.h"

namespace lstmkit::cli {
namespace {

using testing::CliRun;
using testing::CountLines;
using testing::RunLstmkit;
using testing::ScratchDir;

// 120 months of trend times a yearly season, with a little deterministic
// wobble, as "month,sales".
std::string SeasonalCsv() {
  std::string csv = "month,sales\n";
  for (int t = 0; t < 120; ++t) {
    const double value =
        (100 + 2.0 * t) * (1 + 0.2 * std::sin(2 * M_PI * t / 12)) +
        3 * std::sin(1.7 * t);
    char row[64];
    std::snprintf(row, sizeof(row), "%d-%02d,%.2f\n", 2000 + t / 12, t % 12 + 1,
                  value);
    csv += row;
  }
  return csv;
}

std::vector<std::string> TrainForecastArgs(const std::string& data,
                                           const std::string& model) {
  return {"train",     "forecast",  "--data",   data,        "--target",
          "sales",     "--time",    "month",    "--log",     "--window",
          "12",        "--horizon", "6",        "--season",  "12",
          "--holdout", "12",        "--hidden", "6",         "--epochs",
          "25",        "--batch",   "8",        "--threads", "1",
          "--no-plot", "--model",   model};
}

// A text whose next character mostly follows from the last few.
std::string PatternText() {
  std::string text;
  const char* words[] = {"the cat sat. ", "a dog ran. ", "the dog sat. "};
  for (int i = 0; i < 150; ++i) text += words[(i * 7 + i / 5) % 3];
  return text;
}

std::vector<std::string> TrainCharLmArgs(const std::string& data,
                                         const std::string& model) {
  return {"train",     "charlm", "--data",    data,      "--hidden", "8",
          "--batch",   "4",      "--bptt",    "16",      "--epochs", "2",
          "--threads", "1",      "--no-plot", "--model", model};
}

// Rising sequences are "up", falling ones "down".
std::string UpDownCsv(int rows) {
  std::string csv;
  for (int r = 0; r < rows; ++r) {
    const bool up = r % 2 == 0;
    csv += up ? "up" : "down";
    const double start = (r * 37 % 11) - 5;
    for (int t = 0; t < 8; ++t) {
      char value[32];
      std::snprintf(value, sizeof(value), ",%.2f",
                    start + (up ? 0.5 : -0.5) * t + 0.1 * ((r + t) % 3));
      csv += value;
    }
    csv += "\n";
  }
  return csv;
}

std::vector<std::string> TrainClassifyArgs(const std::string& data,
                                           const std::string& model) {
  return {"train",     "classify", "--data",    data,      "--hidden",
          "8",         "--epochs", "40",        "--lr",    "0.03",
          "--threads", "1",        "--no-plot", "--model", model};
}

// The number that follows the first occurrence of `label` and one or more
// spaces; NaN when there is none. (std::regex is avoided: its libstdc++ code
// trips -Wmaybe-uninitialized under the sanitizer builds.)
double NumberAfter(const std::string& text, const std::string& label) {
  for (size_t at = text.find(label); at != std::string::npos;
       at = text.find(label, at + 1)) {
    size_t pos = at + label.size();
    const size_t spaces = text.find_first_not_of(' ', pos);
    if (spaces == pos || spaces == std::string::npos) continue;
    const size_t end = text.find_first_not_of("0123456789.", spaces);
    if (end == spaces) continue;
    return std::stod(text.substr(spaces, end - spaces));
  }
  return NAN;
}

std::vector<float> Parameters(const std::string& path) {
  const Model model = LoadModel(path);
  return {model.parameters().begin(), model.parameters().end()};
}

TEST(Forecast, TrainsBeatsTheBaselineAndEvalAgrees) {
  ScratchDir dir("forecast");
  const std::string data = dir.Write("sales.csv", SeasonalCsv());
  const std::string model = dir.Path("sales.lstm");
  const CliRun train = RunLstmkit(TrainForecastArgs(data, model));
  ASSERT_EQ(train.exit_status, 0) << train.err;
  const double rmse = NumberAfter(train.out, "LSTM");
  const double baseline = NumberAfter(train.out, "seasonal naive (season 12)");
  EXPECT_GT(rmse, 0);
  EXPECT_LT(rmse, baseline) << train.out;
  EXPECT_TRUE(std::filesystem::exists(dir.Path("sales_forecast.csv")));
  EXPECT_TRUE(std::filesystem::exists(dir.Path("sales_loss.csv")));
  EXPECT_FALSE(std::filesystem::exists(model + ".ckpt"));

  const CliRun eval =
      RunLstmkit({"eval", "--model", model, "--data", data, "--no-plot"});
  ASSERT_EQ(eval.exit_status, 0) << eval.err;
  EXPECT_EQ(NumberAfter(eval.out, "LSTM"), rmse);
  // The report is the first thing eval prints: no blank line before it.
  EXPECT_EQ(eval.out.rfind("the last 12 rows", 0), 0u) << eval.out;

  const CliRun predict =
      RunLstmkit({"predict", "--model", model, "--data", data});
  ASSERT_EQ(predict.exit_status, 0) << predict.err;
  EXPECT_EQ(CountLines(predict.out), 1 + 6) << predict.out;  // header, horizon
  EXPECT_EQ(predict.out.rfind("step,forecast\n+1,", 0), 0u) << predict.out;
}

TEST(Forecast, CtrlCSavesACheckpointAndResumeEndsBitwiseTheSame) {
  ScratchDir dir("resume");
  const std::string data = dir.Write("sales.csv", SeasonalCsv());
  const std::string whole = dir.Path("whole.lstm"),
                    parts = dir.Path("parts.lstm");
  ASSERT_EQ(RunLstmkit(TrainForecastArgs(data, whole)).exit_status, 0);

  std::vector<std::string> args = TrainForecastArgs(data, parts);
  args.insert(args.end(), {"--interrupt-after", "30"});
  const CliRun stopped = RunLstmkit(args);
  EXPECT_EQ(stopped.exit_status, 130);
  EXPECT_NE(stopped.err.find("--resume"), std::string::npos) << stopped.err;
  ASSERT_TRUE(std::filesystem::exists(parts + ".ckpt"));

  args = TrainForecastArgs(data, parts);
  args.push_back("--resume");
  const CliRun resumed = RunLstmkit(args);
  ASSERT_EQ(resumed.exit_status, 0) << resumed.err;
  EXPECT_EQ(Parameters(parts), Parameters(whole));
  EXPECT_FALSE(std::filesystem::exists(parts + ".ckpt"));
}

TEST(CharLm, TrainsReportsBitsAndGeneratesRepeatably) {
  ScratchDir dir("charlm");
  const std::string data = dir.Write("text.txt", PatternText());
  const std::string model = dir.Path("text.lstm");
  const CliRun train = RunLstmkit(TrainCharLmArgs(data, model));
  ASSERT_EQ(train.exit_status, 0) << train.err;
  const double bits = NumberAfter(train.out, "held-out bits per character:");
  EXPECT_GT(bits, 0);
  // Fewer bits than a uniform guess among the text's characters.
  EXPECT_LT(bits, std::log2(14.0)) << train.out;

  const CliRun eval =
      RunLstmkit({"eval", "--model", model, "--data", data, "--tail", "0.1"});
  ASSERT_EQ(eval.exit_status, 0) << eval.err;
  // The same characters as training held out: the same figure.
  EXPECT_EQ(NumberAfter(eval.out, "bits per character:"), bits);

  const std::vector<std::string> generate = {"generate", "--model", model,
                                             "--prompt", "the ",    "--length",
                                             "40",       "--seed",  "3"};
  const CliRun first = RunLstmkit(generate);
  ASSERT_EQ(first.exit_status, 0) << first.err;
  EXPECT_EQ(first.out.rfind("the ", 0), 0u);
  EXPECT_EQ(DecodeUtf8(first.out, "out").size(), 4u + 40 + 1);  // and "\n"
  EXPECT_EQ(RunLstmkit(generate).out, first.out);
  std::vector<std::string> greedy = generate;
  greedy.insert(greedy.end(), {"--top-k", "1"});
  const CliRun top1 = RunLstmkit(greedy);
  greedy.back() = "1";
  greedy[greedy.size() - 3] = "99";  // another seed: no choice to make
  EXPECT_EQ(RunLstmkit(greedy).out, top1.out);
}

TEST(CharLm, ResumeContinuesTheCarriedStateBitwise) {
  ScratchDir dir("charlm_resume");
  const std::string data = dir.Write("text.txt", PatternText());
  const std::string whole = dir.Path("whole.lstm"),
                    parts = dir.Path("parts.lstm");
  ASSERT_EQ(RunLstmkit(TrainCharLmArgs(data, whole)).exit_status, 0);
  std::vector<std::string> args = TrainCharLmArgs(data, parts);
  args.insert(args.end(), {"--interrupt-after", "5"});
  EXPECT_EQ(RunLstmkit(args).exit_status, 130);
  args = TrainCharLmArgs(data, parts);
  args.push_back("--resume");
  const CliRun resumed = RunLstmkit(args);
  ASSERT_EQ(resumed.exit_status, 0) << resumed.err;
  EXPECT_EQ(Parameters(parts), Parameters(whole));
}

// A time limit that has run out by the end of the first epoch stops both
// kinds of training there, and the report says which limit it was.
TEST(TimeLimit, StopsAfterTheFirstEpochAndNamesTheLimit) {
  ScratchDir dir("time_limit");
  const std::string text = dir.Write("text.txt", PatternText());
  const std::string sales = dir.Write("sales.csv", SeasonalCsv());
  for (std::vector<std::string> args :
       {TrainCharLmArgs(text, dir.Path("text.lstm")),
        TrainForecastArgs(sales, dir.Path("sales.lstm"))}) {
    args.insert(args.end(), {"--time-limit", "1e-06"});
    const CliRun run = RunLstmkit(args);
    ASSERT_EQ(run.exit_status, 0) << run.err;
    EXPECT_NE(run.out.find("stopped at the time limit of 1e-06 s"),
              std::string::npos)
        << run.out;
  }
}

TEST(Classify, LearnsAndReportsAccuracyAndConfusion) {
  ScratchDir dir("classify");
  const std::string train = dir.Write("train.csv", UpDownCsv(200));
  const std::string test = dir.Write("test.csv", UpDownCsv(40));
  const std::string model = dir.Path("updown.lstm");
  std::vector<std::string> args = TrainClassifyArgs(train, model);
  args.insert(args.end(), {"--test", test});
  const CliRun run = RunLstmkit(args);
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_GE(NumberAfter(run.out, "accuracy on " + test + ":"), 90) << run.out;
  EXPECT_NE(run.out.find("confusion matrix"), std::string::npos);

  const CliRun eval = RunLstmkit({"eval", "--model", model, "--data", test});
  ASSERT_EQ(eval.exit_status, 0) << eval.err;
  EXPECT_NE(eval.out.find("down"), std::string::npos);
  const CliRun predict =
      RunLstmkit({"predict", "--model", model, "--data", test});
  ASSERT_EQ(predict.exit_status, 0) << predict.err;
  EXPECT_EQ(CountLines(predict.out), 41);
}

TEST(Classify, ReadsLabelledTexts) {
  ScratchDir dir("texts");
  std::string tsv = "label\ttext\n";
  for (int i = 0; i < 120; ++i) {
    const bool loud = i % 2 == 0;
    tsv += loud ? "loud\t" : "quiet\t";
    tsv +=
        std::string(3 + i % 5, loud ? 'A' : 'a') + (loud ? "!!" : "..") + "\n";
  }
  const std::string data = dir.Write("texts.tsv", tsv);
  std::vector<std::string> args = TrainClassifyArgs(data, dir.Path("t.lstm"));
  const CliRun run = RunLstmkit(args);
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_NE(run.out.find("classifying texts"), std::string::npos) << run.out;
  EXPECT_GE(NumberAfter(run.out, "accuracy on the validation rows:"), 90)
      << run.out;
}

// ---- Bad input: one line on stderr that says what and where, exit != 0.

class BadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("bad_input");
    forecast_model_ = dir_->Path("forecast.lstm");
    charlm_model_ = dir_->Path("charlm.lstm");
    const std::string series = dir_->Write("sales.csv", SeasonalCsv());
    ASSERT_EQ(
        RunLstmkit(TrainForecastArgs(series, forecast_model_)).exit_status, 0);
    const std::string text = dir_->Write("text.txt", PatternText());
    ASSERT_EQ(RunLstmkit(TrainCharLmArgs(text, charlm_model_)).exit_status, 0);
  }
  static void TearDownTestSuite() { delete dir_; }

  // Runs the command and checks the shape of a failure; returns stderr.
  static std::string Failure(const std::vector<std::string>& args) {
    const CliRun run = RunLstmkit(args);
    EXPECT_EQ(run.exit_status, 1) << run.out << run.err;
    EXPECT_EQ(CountLines(run.err), 1) << run.err;
    EXPECT_NE(run.err.find("error: "), std::string::npos) << run.err;
    return run.err;
  }

  static std::string TrainForecastOn(const std::string& csv) {
    return Failure(
        TrainForecastArgs(dir_->Write("in.csv", csv), dir_->Path("x.lstm")));
  }

  static ScratchDir* dir_;
  static std::string forecast_model_, charlm_model_;
};
ScratchDir* BadInput::dir_ = nullptr;
std::string BadInput::forecast_model_, BadInput::charlm_model_;

TEST_F(BadInput, MalformedCsvNamesLineAndColumn) {
  std::string csv = SeasonalCsv();
  csv.insert(csv.find("2000-03"), "\"");  // line 4 opens a quote
  EXPECT_NE(
      TrainForecastOn(csv).find("in.csv:4:1: quoted field is never closed"),
      std::string::npos);
  csv = SeasonalCsv();
  csv.insert(csv.find("\n2000-05"), ",7");  // line 5 has a third field
  EXPECT_NE(TrainForecastOn(csv).find("in.csv:5:"), std::string::npos);
}

TEST_F(BadInput, EmptyFile) {
  EXPECT_NE(TrainForecastOn("").find("in.csv: the file is empty"),
            std::string::npos);
  const std::string empty = dir_->Write("empty.txt", "");
  EXPECT_NE(Failure(TrainCharLmArgs(empty, dir_->Path("y.lstm")))
                .find("empty.txt: the file is empty"),
            std::string::npos);
}

TEST_F(BadInput, TextThatIsNotUtf8) {
  const std::string text =
      dir_->Write("latin1.txt", "caf\xE9 au lait\nna\xEFve\n");
  EXPECT_NE(Failure(TrainCharLmArgs(text, dir_->Path("z.lstm")))
                .find("latin1.txt:1:4: invalid UTF-8"),
            std::string::npos);
}

TEST_F(BadInput, ModelForAnotherTask) {
  EXPECT_NE(
      Failure({"generate", "--model", forecast_model_})
          .find("is a forecast model; 'lstmkit generate' needs a charlm model"),
      std::string::npos);
  EXPECT_NE(Failure({"predict", "--model", charlm_model_, "--data",
                     dir_->Path("sales.csv")})
                .find("is a charlm model"),
            std::string::npos);
  // A flag that only another task reads is an error, not silently ignored.
  EXPECT_NE(Failure({"eval", "--model", forecast_model_, "--data",
                     dir_->Path("sales.csv"), "--tail", "0.2"})
                .find("--tail applies to charlm models, and " +
                      forecast_model_ + " is a forecast model"),
            std::string::npos);
  EXPECT_NE(Failure({"eval", "--model", charlm_model_, "--data",
                     dir_->Path("text.txt"), "--no-plot"})
                .find("--no-plot applies to forecast models"),
            std::string::npos);
  // A model file with no task, such as one saved by the library itself.
  ModelConfig config;
  config.input_size = 1;
  config.hidden_size = 2;
  const std::string plain = dir_->Path("plain.safetensors");
  SaveModel(Model(config), plain);
  EXPECT_NE(
      Failure({"eval", "--model", plain, "--data", dir_->Path("sales.csv")})
          .find("not a model made by 'lstmkit train'"),
      std::string::npos);
}

TEST_F(BadInput, PromptOutsideTheVocabulary) {
  const CliRun run = RunLstmkit({"generate", "--model", charlm_model_,
                                 "--prompt", "the \xC3\xA9t\xC3\xA9"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_EQ(CountLines(run.err), 1);
  EXPECT_NE(
      run.err.find("--prompt: '\xC3\xA9' (U+00E9), character 5, is not in"),
      std::string::npos)
      << run.err;
}

TEST_F(BadInput, NanOrBlankInANumericColumn) {
  std::string csv = SeasonalCsv();
  const size_t row = csv.find("2001-02,") + 8;  // line 15, column 9
  csv.replace(row, csv.find('\n', row) - row, "NaN");
  EXPECT_NE(
      TrainForecastOn(csv).find("in.csv:15:9: 'sales': 'NaN' is not a finite"),
      std::string::npos);
  csv = SeasonalCsv();
  csv.replace(row, csv.find('\n', row) - row, "");
  EXPECT_NE(TrainForecastOn(csv).find("in.csv:15:9: 'sales': blank value"),
            std::string::npos);
}

TEST_F(BadInput, MissingFileAndUnknownColumn) {
  EXPECT_NE(Failure(TrainForecastArgs(dir_->Path("nowhere.csv"),
                                      dir_->Path("m.lstm")))
                .find("nowhere.csv: cannot open"),
            std::string::npos);
  std::vector<std::string> args =
      TrainForecastArgs(dir_->Path("sales.csv"), dir_->Path("m.lstm"));
  args[5] = "revenue";  // --target
  const CliRun run = RunLstmkit(args);
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_NE(run.err.find("--target 'revenue'"), std::string::npos) << run.err;
}

TEST(Plots, DrawsPngsWhenMatplotlibIsThere) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") != 0) {
    GTEST_SKIP() << "no /usr/bin/python3 with matplotlib";
  }
  ScratchDir dir("plots");
  const std::string data = dir.Write("sales.csv", SeasonalCsv());
  std::vector<std::string> args = TrainForecastArgs(data, dir.Path("s.lstm"));
  args.erase(std::find(args.begin(), args.end(), "--no-plot"));
  const CliRun run = RunLstmkit(args);
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_GT(std::filesystem::file_size(dir.Path("s_forecast.png")), 1000u)
      << run.out;
  EXPECT_GT(std::filesystem::file_size(dir.Path("s_loss.png")), 1000u)
      << run.out;
}

}  // namespace
}  // namespace lstmkit::cli
