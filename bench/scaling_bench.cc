// Thread scaling of the model's paths from 1 thread to every core, and the
// cost of one step barrier.
// Run with --benchmark_repetitions=N: min, median and max are reported.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "pattern_input.h"
#include "step_team.h"
#include "threads.h"

namespace {

using lstmkit::bench::Pattern;

lstmkit::Model MakeModel(int hidden, int threads) {
  lstmkit::ModelConfig config;
  config.input_size = hidden;
  config.hidden_size = hidden;
  lstmkit::Model model(config, {1});
  model.set_threads(threads);
  return model;
}

// args: batch, seq_len, hidden, threads.
void BM_Train(benchmark::State& state) {
  const int batch = state.range(0), seq_len = state.range(1);
  lstmkit::Model model = MakeModel(state.range(2), state.range(3));
  const std::vector<float> x =
      Pattern(size_t(seq_len) * batch * state.range(2));
  const std::vector<float> zeros(x.size(), 0.0f);
  lstmkit::Target target;
  target.values = zeros;
  lstmkit::OptimizerConfig sgd;
  sgd.kind = lstmkit::OptimizerConfig::Kind::kSgd;
  sgd.learning_rate = 1e-6f;
  lstmkit::Optimizer optimizer(sgd);
  lstmkit::Gradients grads;
  for (auto _ : state) {
    model.ComputeGradients({seq_len, batch, x, {}, {}, {}}, target, {}, &grads);
    optimizer.Step(&model, grads);
  }
}

void BM_Infer(benchmark::State& state) {
  const int batch = state.range(0), seq_len = state.range(1);
  const lstmkit::Model model = MakeModel(state.range(2), state.range(3));
  const std::vector<float> x =
      Pattern(size_t(seq_len) * batch * state.range(2));
  lstmkit::Output out;
  for (auto _ : state) {
    model.Forward({seq_len, batch, x, {}, {}, {}}, &out);
    benchmark::DoNotOptimize(out.y.data());
  }
}

// A stream fed the whole sequence step by step: batch 1, per-step latency.
void BM_StreamSteps(benchmark::State& state) {
  const int seq_len = state.range(1), hidden = state.range(2);
  const lstmkit::Model model = MakeModel(hidden, state.range(3));
  const std::vector<float> x = Pattern(size_t(seq_len) * hidden);
  std::vector<float> y(hidden);
  lstmkit::Stream stream(model);
  for (auto _ : state) {
    for (int t = 0; t < seq_len; ++t) {
      stream.Step({x.data() + size_t(t) * hidden, size_t(hidden)}, y);
    }
    benchmark::DoNotOptimize(y.data());
  }
}

// A step team doing nothing but its barriers: the synchronisation cost per
// step. args: threads.
void BM_StepBarrier(benchmark::State& state) {
  const lstmkit::internal::Threads threads(state.range(0));
  constexpr int kSteps = 20000;
  for (auto _ : state) {
    threads.Run([&] {
      lstmkit::internal::StepTeam::Run(threads, kSteps, threads.requested(),
                                       [](int, int) {});
    });
  }
  // Seconds per step, printed with an SI prefix (n = nanoseconds).
  state.counters["s_per_step"] =
      benchmark::Counter(kSteps, benchmark::Counter::kIsIterationInvariantRate |
                                     benchmark::Counter::kInvert);
}

double Min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}
double Max(const std::vector<double>& v) {
  return *std::max_element(v.begin(), v.end());
}

// 1, 2, 4, ... and every core: on a 2-core machine just 1 and 2.
std::vector<int64_t> ThreadCounts() {
  const int cores = lstmkit::internal::Threads(0).concurrency();
  std::vector<int64_t> counts;
  for (int n = 1; n < cores; n *= 2) counts.push_back(n);
  counts.push_back(cores);
  return counts;
}

void Scaling(benchmark::internal::Benchmark* b) {
  b->ComputeStatistics("min", Min)->ComputeStatistics("max", Max);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

// Registered at run time: the thread counts depend on the machine.
void RegisterScalingBenchmarks() {
  const std::vector<int64_t> threads = ThreadCounts();
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("BM_Train", BM_Train)
      ->Apply(Scaling)
      ->ArgsProduct({{64}, {100}, {256}, threads});
  RegisterBenchmark("BM_Infer", BM_Infer)
      ->Apply(Scaling)
      ->ArgsProduct({{64, 1}, {100}, {256}, threads});
  RegisterBenchmark("BM_Infer", BM_Infer)
      ->Apply(Scaling)
      ->ArgsProduct({{1}, {100}, {512}, threads});
  RegisterBenchmark("BM_StreamSteps", BM_StreamSteps)
      ->Apply(Scaling)
      ->ArgsProduct({{1}, {100}, {256, 512}, threads});
  RegisterBenchmark("BM_StepBarrier", BM_StepBarrier)
      ->Apply(Scaling)
      ->ArgsProduct({threads});
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RegisterScalingBenchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
