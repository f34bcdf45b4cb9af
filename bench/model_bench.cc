// Whole-model forward and forward + backward, through the public API only,
// so that the same program can be built against any version of the
// library (tools/bench_foundation compares against the foundation's path).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "pattern_input.h"

namespace {

using lstmkit::bench::Pattern;

lstmkit::ModelConfig Config(int hidden, int layers) {
  lstmkit::ModelConfig config;
  config.input_size = hidden;
  config.hidden_size = hidden;
  config.num_layers = layers;
  return config;
}

// FLOPs of the GEMMs in one layer's forward: 2 * T * B * 4H * (I + H).
double ForwardFlops(int seq_len, int batch, int hidden, int layers) {
  return 2.0 * seq_len * batch * 4.0 * hidden * (2.0 * hidden) * layers;
}

// args: batch, seq_len, hidden, layers.
void BM_Forward(benchmark::State& state) {
  const int batch = state.range(0), seq_len = state.range(1);
  const int hidden = state.range(2), layers = state.range(3);
  const lstmkit::Model model(Config(hidden, layers), {1});
  const std::vector<float> x =
      Pattern(static_cast<size_t>(seq_len) * batch * hidden);
  lstmkit::Output out;
  for (auto _ : state) {
    model.Forward({seq_len, batch, x, {}, {}, {}}, &out);
    benchmark::DoNotOptimize(out.y.data());
  }
  state.counters["GFLOPs"] =
      benchmark::Counter(ForwardFlops(seq_len, batch, hidden, layers) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

// Forward, mean squared error on every step, and backward through time.
void BM_ForwardBackward(benchmark::State& state) {
  const int batch = state.range(0), seq_len = state.range(1);
  const int hidden = state.range(2), layers = state.range(3);
  const lstmkit::Model model(Config(hidden, layers), {1});
  const std::vector<float> x =
      Pattern(static_cast<size_t>(seq_len) * batch * hidden);
  const std::vector<float> target = Pattern(x.size());
  lstmkit::Gradients grads;
  lstmkit::Target t;
  t.values = target;
  for (auto _ : state) {
    const float loss =
        model.ComputeGradients({seq_len, batch, x, {}, {}, {}}, t, {}, &grads);
    benchmark::DoNotOptimize(loss);
  }
  // Backward does twice the GEMM work of forward.
  state.counters["GFLOPs"] = benchmark::Counter(
      3 * ForwardFlops(seq_len, batch, hidden, layers) * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate);
}

// The foundation's API has neither a thread setting nor
// parameters_changed(); tools/bench_foundation builds this file against it
// with LSTMKIT_BENCH_FOUNDATION defined.
#ifndef LSTMKIT_BENCH_FOUNDATION
// The repacking every optimizer step ends with: each weight matrix into the
// forward (gate-column) and backward (gate-row) panel layouts, on one
// thread. At batch 1 it is a visible share of a training step.
void BM_ParametersChanged(benchmark::State& state) {
  const int hidden = state.range(0);
  lstmkit::Model model(Config(hidden, 1), {1});
  model.set_threads(1);
  for (auto _ : state) {
    model.parameters_changed();
    benchmark::ClobberMemory();
  }
  // Each parameter is read once per layout and written once into it.
  const double bytes = 4.0 * sizeof(float) * model.parameters().size();
  state.SetBytesProcessed(static_cast<int64_t>(bytes * state.iterations()));
}
BENCHMARK(BM_ParametersChanged)
    ->Arg(256)
    ->Arg(512)
    ->Unit(benchmark::kMicrosecond);
#endif  // LSTMKIT_BENCH_FOUNDATION

BENCHMARK(BM_Forward)
    ->Args({64, 100, 256, 1})
    ->Args({64, 100, 512, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ForwardBackward)
    ->Args({64, 100, 256, 1})
    ->Args({64, 100, 512, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
