// The `lstmkit bench` contract (fields, types, checksums that do not depend
// on the thread count), the errors for bad flags, and `lstmkit info`, all
// through the same entry point as the program, in-process.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench_case.h"
#include "checksum.h"
#include "cli.h"
#include "cli_test_util.h"
#include "lstmkit/lstmkit.hpp"
#include "sample_stats.h"

namespace lstmkit::cli {
namespace {

using nlohmann::json;
using testing::CliRun;
using testing::RunLstmkit;

// A case small enough for the sanitizer build, with ragged sizes.
std::vector<std::string> TinyCase(const std::string& mode, int threads) {
  return {"bench",
          "--mode",
          mode,
          "--batch",
          mode == "step" ? "1" : "3",
          "--seq",
          "5",
          "--input",
          "4",
          "--hidden",
          "7",
          "--layers",
          "2",
          "--threads",
          std::to_string(threads),
          "--repeat",
          "3"};
}

json BenchJson(const std::vector<std::string>& args) {
  const CliRun run = RunLstmkit(args);
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 1)
      << "one line expected: " << run.out;
  return json::parse(run.out);
}

class BenchContract : public ::testing::TestWithParam<std::string> {};

std::vector<std::string> Plus(std::vector<std::string> args,
                              std::vector<std::string> more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_P(BenchContract, PrintsEveryFieldWithItsType) {
  const std::string mode = GetParam();
  const json report = BenchJson(TinyCase(mode, 1));
  EXPECT_EQ(report.at("impl"), "lstmkit");
  EXPECT_EQ(report.at("mode"), mode);
  for (const char* field : {"median_ms", "min_ms", "max_ms", "gflops"}) {
    ASSERT_TRUE(report.at(field).is_number()) << field;
  }
  EXPECT_LE(report["min_ms"].get<double>(), report["median_ms"].get<double>());
  EXPECT_LE(report["median_ms"].get<double>(), report["max_ms"].get<double>());
  EXPECT_GT(report["gflops"].get<double>(), 0);
  const std::string checksum = report.at("checksum");
  EXPECT_EQ(checksum.size(), 16u);
  EXPECT_EQ(checksum.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(report.contains("p50_us"), mode == "step");
  EXPECT_EQ(report.contains("p99_us"), mode == "step");
  EXPECT_EQ(report.at("hidden"), 7);
  EXPECT_EQ(report.at("threads"), 1);
}

TEST_P(BenchContract, ChecksumIsTheSameForEveryThreadCount) {
  const std::string mode = GetParam();
  const std::string one = BenchJson(TinyCase(mode, 1)).at("checksum");
  EXPECT_EQ(BenchJson(TinyCase(mode, 2)).at("checksum"), one);
  EXPECT_EQ(BenchJson(TinyCase(mode, 0)).at("checksum"), one);
}

TEST_P(BenchContract, ChecksumFollowsTheSeed) {
  std::vector<std::string> args = TinyCase(GetParam(), 1);
  const std::string first = BenchJson(args).at("checksum");
  args.insert(args.end(), {"--seed", "2"});
  EXPECT_NE(BenchJson(args).at("checksum"), first);
}

INSTANTIATE_TEST_SUITE_P(Modes, BenchContract,
                         ::testing::Values("step", "infer", "train"));

// The nn.LSTM options: a projection in every mode, both directions where
// a whole sequence runs. The JSON echoes them, the checksum still does not
// depend on the thread count, and it differs from the plain model's, so
// the options reach the model.
TEST_P(BenchContract, OptionsAreRunAndReported) {
  const std::string mode = GetParam();
  std::vector<std::string> args = TinyCase(mode, 1);
  args.insert(args.end(), {"--proj", "3"});
  if (mode != "step") args.push_back("--bidirectional");
  const json report = BenchJson(args);
  EXPECT_EQ(report.at("proj"), 3);
  EXPECT_EQ(report.at("bidirectional"), mode != "step");
  EXPECT_GT(report.at("gflops").get<double>(), 0);
  const std::string checksum = report.at("checksum");
  EXPECT_NE(checksum, BenchJson(TinyCase(mode, 1)).at("checksum"));
  args.at(14) = "2";  // --threads
  EXPECT_EQ(BenchJson(args).at("checksum"), checksum);
  const json plain = BenchJson(TinyCase(mode, 1));
  EXPECT_EQ(plain.at("proj"), 0);
  EXPECT_EQ(plain.at("bidirectional"), false);
}

// bf16 weights in every mode: reported, reaching the model (a different
// checksum from f32) and still the same for every thread count.
TEST_P(BenchContract, Bf16WeightsAreRunAndReported) {
  const std::string mode = GetParam();
  std::vector<std::string> args = Plus(TinyCase(mode, 1), {"--dtype", "bf16"});
  const json report = BenchJson(args);
  EXPECT_EQ(report.at("dtype"), "bf16");
  const std::string checksum = report.at("checksum");
  EXPECT_NE(checksum, BenchJson(TinyCase(mode, 1)).at("checksum"));
  args.at(14) = "2";  // --threads
  EXPECT_EQ(BenchJson(args).at("checksum"), checksum);
}

// Matrix-product FLOPs with the options, counted by hand for I = 4, H = 7,
// P = 3, L = 2, B = 3, T = 5: per direction and step, layer 0 does
// 2 * 3 * 28 * (4 + 3) = 1176 and layer 1 (reading D * P = 6 values)
// 2 * 3 * 28 * (6 + 3) = 1512, each plus the projection's 2 * 3 * 3 * 7 =
// 126: 2 * (1176 + 126 + 1512 + 126) = 5880 per step.
TEST(BenchFlops, CountTheDirectionsAndTheProjection) {
  BenchCase c;
  c.mode = BenchMode::kInfer;
  c.batch = 3;
  c.seq_len = 5;
  c.input_size = 4;
  c.hidden_size = 7;
  c.layers = 2;
  c.bidirectional = true;
  c.proj_size = 3;
  EXPECT_EQ(SampleFlops(c), 5 * 5880.0);
  EXPECT_EQ(OutputWidth(c), 6);
  c.mode = BenchMode::kTrain;
  EXPECT_EQ(SampleFlops(c), 3 * 5 * 5880.0);
  // Without the options: 2 * 3 * 28 * (4 + 7) + 2 * 3 * 28 * (7 + 7).
  c.mode = BenchMode::kInfer;
  c.bidirectional = false;
  c.proj_size = 0;
  EXPECT_EQ(SampleFlops(c), 5 * (1848.0 + 2352.0));
  EXPECT_EQ(OutputWidth(c), 7);
}

// Outputs are recomputed from the same start at every repetition.
TEST(BenchOutputs, ChecksumDoesNotDependOnRepeat) {
  for (const std::string mode : {"step", "infer"}) {
    std::vector<std::string> args = TinyCase(mode, 1);
    args.back() = "1";  // --repeat
    const std::string once = BenchJson(args).at("checksum");
    args.back() = "4";
    EXPECT_EQ(BenchJson(args).at("checksum"), once) << mode;
  }
}

struct BadFlags {
  std::string label;  // names the case in test lists
  std::vector<std::string> args;
  std::string names;  // what the message must mention
};

// ctest lists a parameterized test by its printed parameter.
void PrintTo(const BadFlags& bad, std::ostream* out) { *out << bad.label; }

class BadBenchFlags : public ::testing::TestWithParam<BadFlags> {};

TEST_P(BadBenchFlags, FailWithOneLineThatNamesTheFlag) {
  const CliRun run = RunLstmkit(GetParam().args);
  EXPECT_EQ(run.exit_status, kExitUsage);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find("error"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(GetParam().names), std::string::npos) << run.err;
}

std::vector<std::string> With(std::vector<std::string> args, size_t index,
                              const std::string& value) {
  args.at(index) = value;
  return args;
}

std::vector<std::string> Without(std::vector<std::string> args,
                                 const std::string& flag) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) args.erase(args.begin() + i, args.begin() + i + 2);
  }
  return args;
}

// Indices into TinyCase: 2 = mode, 4 = batch, 14 = threads.
INSTANTIATE_TEST_SUITE_P(
    Cases, BadBenchFlags,
    ::testing::Values(
        BadFlags{"UnknownMode", With(TinyCase("infer", 1), 2, "sideways"),
                 "--mode"},
        BadFlags{"ZeroBatch", With(TinyCase("infer", 1), 4, "0"), "--batch"},
        BadFlags{"WordForBatch", With(TinyCase("infer", 1), 4, "many"),
                 "--batch"},
        BadFlags{"StepWithBatch2", With(TinyCase("step", 1), 4, "2"),
                 "--batch 1"},
        BadFlags{"StepBidirectional",
                 Plus(TinyCase("step", 1), {"--bidirectional"}),
                 "--mode step cannot run --bidirectional"},
        BadFlags{"ProjNotBelowHidden",
                 Plus(TinyCase("infer", 1), {"--proj", "7"}),
                 "--proj must be less than --hidden = 7"},
        BadFlags{"NegativeProj", Plus(TinyCase("train", 1), {"--proj", "-1"}),
                 "--proj"},
        BadFlags{"NegativeThreads", With(TinyCase("infer", 1), 14, "-1"),
                 "--threads"},
        BadFlags{"NoHidden", Without(TinyCase("infer", 1), "--hidden"),
                 "--hidden"},
        BadFlags{"UnknownFlag", Plus(TinyCase("infer", 1), {"--frobnicate"}),
                 "frobnicate"},
        BadFlags{"UnknownDtype", Plus(TinyCase("infer", 1), {"--dtype", "f64"}),
                 "--dtype"},
        BadFlags{"ZeroRepeat", Plus(TinyCase("infer", 1), {"--repeat", "0"}),
                 "--repeat"},
        BadFlags{"NoCommand", {}, "subcommand"},
        BadFlags{"UnknownCommand", {"sing"}, "sing"}),
    [](const ::testing::TestParamInfo<BadFlags>& info) {
      return info.param.label;
    });

TEST(Help, ExplainsTheModes) {
  const CliRun run = RunLstmkit({"bench", "--help"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_NE(run.out.find("--batch must be"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("mean squared error"), std::string::npos);
  EXPECT_NE(run.out.find("--bidirectional"), std::string::npos);
  EXPECT_NE(run.out.find("--proj"), std::string::npos);
  EXPECT_NE(run.out.find("streams are unidirectional"), std::string::npos);
}

TEST(Info, JsonDescribesTheMachine) {
  const CliRun run = RunLstmkit({"info", "--json"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  const json info = json::parse(run.out);
  EXPECT_FALSE(info.at("cpu").get<std::string>().empty());
  EXPECT_FALSE(info.at("version").get<std::string>().empty());
  const std::vector<std::string> targets = info.at("available_targets");
  EXPECT_NE(std::find(targets.begin(), targets.end(), info.at("target")),
            targets.end());
  EXPECT_GE(info.at("usable_threads").get<int>(), 1);
  EXPECT_TRUE(info.at("caches").is_array());
  EXPECT_NE(info.at("tuning").get<std::string>().find("GEMM over packed"),
            std::string::npos);
  EXPECT_FALSE(info.contains("fma_peak_gflops"));
}

TEST(Info, TextNamesTheTarget) {
  const CliRun run = RunLstmkit({"info"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_NE(run.out.find("target"), std::string::npos) << run.out;
}

// `info FILE` describes a model file; a damaged one is described and fails.
TEST(Info, DescribesAModelFileAndFailsOnADamagedOne) {
  ModelConfig config;
  config.input_size = 3;
  config.hidden_size = 5;
  const std::string path = ::testing::TempDir() + "info_model.safetensors";
  SaveModel(Model(config), path);
  const CliRun good = RunLstmkit({"info", path});
  ASSERT_EQ(good.exit_status, 0) << good.err;
  EXPECT_NE(good.out.find("weight_hh_l0"), std::string::npos) << good.out;
  EXPECT_EQ(RunLstmkit({"info", "--json", path}).exit_status, 2);

  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(-1, std::ios::end);
  file.put('\x7f');
  file.close();
  const CliRun damaged = RunLstmkit({"info", path});
  EXPECT_EQ(damaged.exit_status, 1);
  EXPECT_NE(damaged.err.find("checksum"), std::string::npos) << damaged.err;
}

TEST(SampleStats, MedianAndNearestRankPercentile) {
  EXPECT_EQ(Summarize({3, 1, 2}).median, 2);
  EXPECT_EQ(Summarize({4, 1, 3, 2}).median, 2.5);
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);
  EXPECT_EQ(Summarize(hundred).p99, 99);
  EXPECT_EQ(Summarize({5}).p99, 5);
  EXPECT_EQ(Summarize({5, 7}).min, 5);
  EXPECT_EQ(Summarize({5, 7}).max, 7);
}

// The value from an independent implementation (Python, over the packed
// little-endian bytes of 1.0f and -2.5f).
TEST(Checksum, IsFnv1a64OverLittleEndianBytes) {
  const float values[] = {1.0f, -2.5f};
  Fnv1a64 hash;
  hash.Add(values, 2);
  EXPECT_EQ(hash.value(), 0x09e629ee2dfdb3f8ull);
  EXPECT_EQ(Fnv1a64().value(), 0xcbf29ce484222325ull);
}

}  // namespace
}  // namespace lstmkit::cli
