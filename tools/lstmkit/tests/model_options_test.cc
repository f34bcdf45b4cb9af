// nn.LSTM's options through `lstmkit train`: --bidirectional, --proj and
// --dropout reach the saved model, and eval, predict and generate use it;
// a stopped run with dropout resumes bitwise; character models, which
// `generate` streams, refuse --bidirectional and say why in --help; bad
// values name their flag.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "lstmkit/lstmkit.hpp"

namespace lstmkit::cli {
namespace {

using testing::CliRun;
using testing::CountLines;
using testing::RunLstmkit;
using testing::ScratchDir;

// 96 months of a yearly season on a trend, as "month,sales".
std::string MonthlyCsv() {
  std::string csv = "month,sales\n";
  for (int t = 0; t < 96; ++t) {
    const double value = (100 + 2.0 * t) * (1 + 0.2 * std::sin(M_PI * t / 6));
    char row[64];
    std::snprintf(row, sizeof(row), "%d-%02d,%.2f\n", 2000 + t / 12, t % 12 + 1,
                  value);
    csv += row;
  }
  return csv;
}

std::vector<std::string> ForecastArgs(const std::string& data,
                                      const std::string& model) {
  return {"train",     "forecast", "--data",   data, "--target",  "sales",
          "--time",    "month",    "--window", "12", "--horizon", "3",
          "--holdout", "12",       "--hidden", "6",  "--layers",  "2",
          "--epochs",  "6",        "--batch",  "8",  "--threads", "1",
          "--no-plot", "--model",  model};
}

// Rising sequences are "up", falling ones "down", 8 steps each.
std::string UpDownCsv(int rows) {
  std::string csv;
  for (int r = 0; r < rows; ++r) {
    const bool up = r % 2 == 0;
    csv += up ? "up" : "down";
    for (int t = 0; t < 8; ++t) {
      char value[32];
      std::snprintf(value, sizeof(value), ",%.2f",
                    (r % 5) + (up ? 0.5 : -0.5) * t);
      csv += value;
    }
    csv += "\n";
  }
  return csv;
}

std::string PatternText() {
  std::string text;
  for (int i = 0; i < 60; ++i) text += i % 3 == 0 ? "abc. " : "cab. ";
  return text;
}

std::vector<std::string> CharLmArgs(const std::string& data,
                                    const std::string& model) {
  return {"train",     "charlm", "--data",    data,      "--hidden", "8",
          "--batch",   "4",      "--bptt",    "16",      "--epochs", "2",
          "--threads", "1",      "--no-plot", "--model", model};
}

std::vector<std::string> Plus(std::vector<std::string> args,
                              const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// args with the value after `flag` replaced (CLI11 refuses a flag twice).
std::vector<std::string> With(std::vector<std::string> args,
                              const std::string& flag,
                              const std::string& value) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) args[i + 1] = value;
  }
  return args;
}

std::vector<float> Parameters(const std::string& path) {
  const Model model = LoadModel(path);
  return {model.parameters().begin(), model.parameters().end()};
}

TEST(ModelOptions, ForecastWithEveryOptionTrainsEvaluatesAndPredicts) {
  ScratchDir dir("options_forecast");
  const std::string data = dir.Write("sales.csv", MonthlyCsv());
  const std::string model = dir.Path("sales.lstm");
  const CliRun train =
      RunLstmkit(Plus(ForecastArgs(data, model),
                      {"--bidirectional", "--proj", "4", "--dropout", "0.2"}));
  ASSERT_EQ(train.exit_status, 0) << train.err;
  const ModelConfig config = LoadModel(model).config();
  EXPECT_TRUE(config.bidirectional);
  EXPECT_EQ(config.proj_size, 4);
  EXPECT_EQ(config.dropout, 0.2f);
  EXPECT_EQ(config.num_layers, 2);
  const CliRun eval = RunLstmkit({"eval", "--model", model, "--data", data});
  EXPECT_EQ(eval.exit_status, 0) << eval.err;
  const CliRun predict =
      RunLstmkit({"predict", "--model", model, "--data", data});
  ASSERT_EQ(predict.exit_status, 0) << predict.err;
  EXPECT_EQ(CountLines(predict.out), 1 + 3) << predict.out;
}

// The dropout masks of each step come back with the checkpoint.
TEST(ModelOptions, StoppedRunWithDropoutResumesBitwise) {
  ScratchDir dir("options_resume");
  const std::string data = dir.Write("sales.csv", MonthlyCsv());
  const std::string whole = dir.Path("whole.lstm"),
                    parts = dir.Path("parts.lstm");
  const std::vector<std::string> options = {"--proj", "3", "--dropout", "0.3"};
  ASSERT_EQ(RunLstmkit(Plus(ForecastArgs(data, whole), options)).exit_status,
            0);
  std::vector<std::string> args = Plus(ForecastArgs(data, parts), options);
  EXPECT_EQ(RunLstmkit(Plus(args, {"--interrupt-after", "7"})).exit_status,
            130);
  const CliRun resumed = RunLstmkit(Plus(args, {"--resume"}));
  ASSERT_EQ(resumed.exit_status, 0) << resumed.err;
  EXPECT_EQ(Parameters(parts), Parameters(whole));
}

TEST(ModelOptions, ClassifyBidirectionalProjected) {
  ScratchDir dir("options_classify");
  const std::string train = dir.Write("train.csv", UpDownCsv(80));
  const std::string model = dir.Path("updown.lstm");
  const CliRun run = RunLstmkit({"train",     "classify", "--data",
                                 train,       "--hidden", "8",
                                 "--layers",  "2",        "--bidirectional",
                                 "--proj",    "3",        "--dropout",
                                 "0.1",       "--epochs", "3",
                                 "--threads", "1",        "--no-plot",
                                 "--model",   model});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  const ModelConfig config = LoadModel(model).config();
  EXPECT_TRUE(config.bidirectional);
  EXPECT_EQ(config.proj_size, 3);
  EXPECT_EQ(config.output_size, 2);
  const CliRun predict =
      RunLstmkit({"predict", "--model", model, "--data", train});
  ASSERT_EQ(predict.exit_status, 0) << predict.err;
  EXPECT_EQ(CountLines(predict.out), 81);
}

// Projected streams carry h of P values: training, evaluation and
// generation all size their states by it.
TEST(ModelOptions, CharLmProjectedWithDropoutGenerates) {
  ScratchDir dir("options_charlm");
  const std::string data = dir.Write("text.txt", PatternText());
  const std::string model = dir.Path("text.lstm");
  const CliRun train = RunLstmkit(Plus(
      CharLmArgs(data, model), {"--layers", "2", "--proj", "5", "--dropout",
                                "0.1", "--validation", "0.2"}));
  ASSERT_EQ(train.exit_status, 0) << train.err;
  EXPECT_EQ(LoadModel(model).config().proj_size, 5);
  const CliRun eval =
      RunLstmkit({"eval", "--model", model, "--data", data, "--tail", "0.2"});
  EXPECT_EQ(eval.exit_status, 0) << eval.err;
  const CliRun generate = RunLstmkit({"generate", "--model", model, "--prompt",
                                      "ab", "--length", "10", "--seed", "1"});
  ASSERT_EQ(generate.exit_status, 0) << generate.err;
  EXPECT_EQ(generate.out.rfind("ab", 0), 0u) << generate.out;
}

// The character model trains in its own loop, carrying states of P values
// across chunks; its dropout masks come back with the checkpoint too.
TEST(ModelOptions, CharLmWithDropoutResumesBitwise) {
  ScratchDir dir("options_charlm_resume");
  const std::string data = dir.Write("text.txt", PatternText());
  const std::string whole = dir.Path("whole.lstm"),
                    parts = dir.Path("parts.lstm");
  const std::vector<std::string> options = {"--layers", "2",         "--proj",
                                            "5",        "--dropout", "0.3"};
  ASSERT_EQ(RunLstmkit(Plus(CharLmArgs(data, whole), options)).exit_status, 0);
  const std::vector<std::string> args = Plus(CharLmArgs(data, parts), options);
  EXPECT_EQ(RunLstmkit(Plus(args, {"--interrupt-after", "5"})).exit_status,
            130);
  const CliRun resumed = RunLstmkit(Plus(args, {"--resume"}));
  ASSERT_EQ(resumed.exit_status, 0) << resumed.err;
  EXPECT_EQ(Parameters(parts), Parameters(whole));
  // Another --seed is another run (weights and masks).
  const std::string other = dir.Path("other.lstm");
  ASSERT_EQ(
      RunLstmkit(Plus(Plus(CharLmArgs(data, other), options), {"--seed", "2"}))
          .exit_status,
      0);
  EXPECT_NE(Parameters(other), Parameters(whole));
}

TEST(ModelOptions, CharLmRefusesBidirectionalAndSaysWhy) {
  ScratchDir dir("options_charlm_bidirectional");
  const std::string data = dir.Write("text.txt", PatternText());
  const CliRun run = RunLstmkit(
      Plus(CharLmArgs(data, dir.Path("text.lstm")), {"--bidirectional"}));
  EXPECT_EQ(run.exit_status, kExitUsage);
  EXPECT_EQ(CountLines(run.err), 1) << run.err;
  EXPECT_NE(run.err.find("--bidirectional"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("stream"), std::string::npos) << run.err;

  const CliRun help = RunLstmkit({"train", "charlm", "--help"});
  EXPECT_EQ(help.exit_status, 0);
  EXPECT_NE(help.out.find("--bidirectional"), std::string::npos);
  EXPECT_NE(help.out.find("not available"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--proj"), std::string::npos);
  EXPECT_NE(help.out.find("--dropout"), std::string::npos);
  const CliRun forecast_help = RunLstmkit({"train", "forecast", "--help"});
  EXPECT_NE(forecast_help.out.find("--bidirectional"), std::string::npos);
  EXPECT_EQ(forecast_help.out.find("not available"), std::string::npos);
}

struct BadOption {
  std::vector<std::string> flags;
  std::string names;  // what the one-line message must say
};

TEST(ModelOptions, BadValuesNameTheFlag) {
  ScratchDir dir("options_bad");
  const std::string data = dir.Write("sales.csv", MonthlyCsv());
  const std::string model = dir.Path("sales.lstm");
  const BadOption cases[] = {
      {{"--proj", "6"}, "--proj must be less than --hidden = 6"},
      {{"--proj", "-1"}, "--proj"},
      {{"--dropout", "1"}, "--dropout must be in [0, 1)"},
      {{"--dropout", "-0.1"}, "--dropout must be in [0, 1)"},
      {{"--dropout", "nan"}, "--dropout"},
  };
  const std::vector<std::string> one_layer =
      With(ForecastArgs(data, model), "--layers", "1");
  const CliRun dropout_one_layer =
      RunLstmkit(Plus(one_layer, {"--dropout", "0.5"}));
  EXPECT_EQ(dropout_one_layer.exit_status, kExitUsage);
  EXPECT_NE(dropout_one_layer.err.find("needs --layers 2"), std::string::npos)
      << dropout_one_layer.err;
  for (const BadOption& bad : cases) {
    const CliRun run = RunLstmkit(Plus(ForecastArgs(data, model), bad.flags));
    EXPECT_EQ(run.exit_status, kExitUsage) << bad.names;
    EXPECT_EQ(CountLines(run.err), 1) << run.err;
    EXPECT_NE(run.err.find(bad.names), std::string::npos) << run.err;
  }
}

// A model path whose folder is missing is refused before training starts,
// not after it ends.
TEST(ModelOptions, MissingModelFolderIsRefusedBeforeTraining) {
  ScratchDir dir("options_no_folder");
  const std::string data = dir.Write("sales.csv", MonthlyCsv());
  const std::string model = dir.Path("missing/sales.lstm");
  const CliRun run = RunLstmkit(ForecastArgs(data, model));
  EXPECT_EQ(run.exit_status, kExitUsage);
  EXPECT_EQ(CountLines(run.err), 1) << run.err;
  EXPECT_NE(run.err.find("--model " + model + ": the folder"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find("epoch"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace lstmkit::cli
