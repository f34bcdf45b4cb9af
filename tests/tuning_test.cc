// The autotuner's parameters never change results, its file round-trips,
// and a file that does not apply (or does not parse) never breaks a run.
#include "tuning.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "kernels.h"
#include "lstmkit/lstmkit.hpp"
#include "test_util.h"
#include "tuner.h"

namespace lstmkit {
namespace {

using internal::Tuning;
using testing::RandomVector;

struct Results {
  std::vector<float> y, stream_y, grads;
};

// Forward, a stream and gradients of a model big enough for several GEMM
// blocks, tasks and step tiles, and for streams on several threads.
Results RunEverything(int threads) {
  ModelConfig config;
  config.input_size = 70;
  config.hidden_size = 150;
  config.num_layers = 2;
  config.output_size = 9;
  Model model(config, InitOptions{3});
  model.set_threads(threads);
  const int seq_len = 7, batch = 29;
  const std::vector<float> x = RandomVector(seq_len * batch * 70, 4);
  const std::vector<float> target_values = RandomVector(seq_len * batch * 9, 5);
  Results r;
  r.y = model.Forward({seq_len, batch, x, {}, {}, {}}).y;
  Stream stream(model);
  r.stream_y.resize(seq_len * 9);
  stream.Chunk(seq_len, {x.data(), size_t(seq_len) * 70}, r.stream_y);
  Target target;
  target.values = target_values;
  Gradients grads;
  model.ComputeGradients({seq_len, batch, x, {}, {}, {}}, target, {}, &grads);
  r.grads.assign(grads.parameters().begin(), grads.parameters().end());
  return r;
}

// Every parameter the tuner varies, pushed to unusual values.
std::vector<Tuning> UnusualTunings(const kernels::KernelTable& kt) {
  std::vector<Tuning> out;
  const Tuning base = internal::DefaultTuning(kt);
  for (const kernels::Blocking& tile : kernels::TileCandidates(kt)) {
    Tuning t = base;
    t.gemm_packed = tile;
    t.gemm_packed.kc = 7;
    t.gemm_packed.mc = 5 * tile.mr;
    t.gemm_packed.nc = kernels::kPanelVectors * kt.lanes;
    t.gemm = tile;
    t.gemm.kc = 33;
    t.step_rows = tile.mr;
    t.task_rows = 1 + tile.mr * 3;
    t.task_panels = 1 + tile.nr;
    t.stream_parallel_bytes = tile.mr % 2 == 0 ? 0 : size_t{1} << 40;
    out.push_back(t);
  }
  return out;
}

TEST(Tuning, NoParameterChangesAnyResult) {
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  for (int threads : {1, 2}) {
    internal::OverrideTuning(nullptr);
    const Results expected = RunEverything(threads);
    for (const Tuning& t : UnusualTunings(kt)) {
      internal::OverrideTuning(&t);
      const Results got = RunEverything(threads);
      EXPECT_EQ(got.y, expected.y) << "mr=" << t.gemm_packed.mr;
      EXPECT_EQ(got.stream_y, expected.stream_y) << "mr=" << t.gemm_packed.mr;
      EXPECT_EQ(got.grads, expected.grads) << "mr=" << t.gemm_packed.mr;
    }
  }
  internal::OverrideTuning(nullptr);
}

TEST(Tuning, FileRoundTripsAndRejectsBadFields) {
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  Tuning t = internal::DefaultTuning(kt);
  t.gemm.kc = 111;
  t.step_rows = 3;
  t.task_panels = 7;
  t.stream_parallel_bytes = 12345;
  const internal::CpuIdentity cpu = internal::CurrentCpu(kt);
  const std::string text = internal::TuningToJson(t, cpu, "");
  internal::CpuIdentity read_cpu;
  const Tuning back = internal::TuningFromJson(text, "t.json", kt, &read_cpu);
  EXPECT_TRUE(read_cpu == cpu);
  EXPECT_EQ(back.gemm.kc, 111);
  EXPECT_EQ(back.step_rows, 3);
  EXPECT_EQ(back.task_panels, 7);
  EXPECT_EQ(back.stream_parallel_bytes, 12345u);
  const std::vector<std::pair<std::string, std::string>> broken = {
      {"{", "t.json"},
      {"[]", "JSON object"},
      {R"({"format": 99})", "format"},
      {std::string(text).replace(text.find("\"step_rows\": 3"), 14,
                                 "\"step_rows\": 0"),
       "step_rows"},
      {std::string(text).replace(text.find("\"nr\""), 4, "\"nx\""), "\"nr\""},
  };
  for (const auto& [bad, expected_words] : broken) {
    try {
      internal::TuningFromJson(bad, "t.json", kt, &read_cpu);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected_words), std::string::npos)
          << e.what();
    }
  }
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

// Runs a model in a fresh process (the tuning is read once per process)
// with LSTMKIT_TUNING set, and exits 0 when it computed and the tuning in
// effect names `source`.
void RunWithTuningFile(const std::string& path, const std::string& source) {
  setenv("LSTMKIT_TUNING", path.c_str(), 1);
  ModelConfig config;
  config.input_size = 3;
  config.hidden_size = 8;
  const Model model(config, InitOptions{1});
  const std::vector<float> x(3 * 2 * 3, 0.5f);
  const bool ok = model.Forward({3, 2, x, {}, {}, {}}).y.size() == 3 * 2 * 8;
  const bool named = DescribeTuning().find(source) != std::string::npos;
  std::fflush(stderr);
  std::_Exit(ok && named ? 0 : 1);
}

TEST(TuningFileDeathTest, ForeignOrBrokenFilesAreIgnoredWithOneLine) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  internal::CpuIdentity other = internal::CurrentCpu(kt);
  other.model = "Some Other CPU";
  const std::string foreign =
      WriteTemp("foreign_tuning.json",
                internal::TuningToJson(internal::DefaultTuning(kt), other, ""));
  EXPECT_EXIT(RunWithTuningFile(foreign, "built-in defaults"),
              ::testing::ExitedWithCode(0), "ignoring .*Some Other CPU");
  const std::string broken = WriteTemp("broken_tuning.json", "{\"format\": 1,");
  EXPECT_EXIT(RunWithTuningFile(broken, "built-in defaults"),
              ::testing::ExitedWithCode(0), "ignoring tuning file");
  EXPECT_EXIT(
      RunWithTuningFile("/nonexistent/dir/tuning.json", "built-in defaults"),
      ::testing::ExitedWithCode(0), "");
  // Set and empty: no file is read, whatever the cache directory holds.
  EXPECT_EXIT(RunWithTuningFile("", "built-in defaults"),
              ::testing::ExitedWithCode(0), "");
  Tuning mine = internal::DefaultTuning(kt);
  mine.step_rows = 2;
  const std::string good =
      WriteTemp("good_tuning.json",
                internal::TuningToJson(mine, internal::CurrentCpu(kt), ""));
  EXPECT_EXIT(RunWithTuningFile(good, good), ::testing::ExitedWithCode(0), "");
}

// A quick pass of every stage of the tuner writes a file this CPU accepts.
// Small, ragged shapes reach the same code as Tune()'s full workload, which
// takes minutes under the sanitizers.
TEST(Tuner, WritesAFileThatLoads) {
  TuneOptions options;
  options.path = ::testing::TempDir() + "tuned/tuning.json";
  options.seconds_per_candidate = 0.002;
  options.repeats = 1;
  int lines = 0;
  options.progress = [&](const std::string&) { ++lines; };
  internal::TunerWorkload small;
  small.projection = {100, 136, 40};
  small.gradient = {136, 40, 100};
  small.step_batch = 13;
  small.step_hidden = 20;
  small.stream_hiddens = {48, 24};
  EXPECT_EQ(internal::TuneWith(options, small), options.path);
  EXPECT_GT(lines, 10);
  std::ifstream in(options.path);
  const std::string text((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  internal::CpuIdentity cpu;
  internal::TuningFromJson(text, options.path, kt, &cpu);
  EXPECT_TRUE(cpu == internal::CurrentCpu(kt));
  EXPECT_NE(DescribeTuning().find(options.path), std::string::npos);
  internal::OverrideTuning(nullptr);
  options.repeats = 0;
  EXPECT_THROW(Tune(options), Error);
}

// With the file turned off and no path given, Tune says why it has nowhere
// to write.
TEST(Tuner, NamesAnEmptyTuningVariable) {
  const char* old = std::getenv("LSTMKIT_TUNING");
  const std::string saved = old != nullptr ? old : "";
  setenv("LSTMKIT_TUNING", "", 1);
  try {
    Tune(TuneOptions{});
    ADD_FAILURE() << "Tune wrote somewhere";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("LSTMKIT_TUNING is set and empty"),
              std::string::npos)
        << e.what();
  }
  if (old != nullptr) {
    setenv("LSTMKIT_TUNING", saved.c_str(), 1);
  } else {
    unsetenv("LSTMKIT_TUNING");
  }
}

}  // namespace
}  // namespace lstmkit
