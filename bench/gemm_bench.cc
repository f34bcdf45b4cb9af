// GEMM and fused-cell kernels in GFLOP/s and % of the measured FMA peak.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "fma_peak.h"
#include "kernels.h"

#ifdef LSTMKIT_BENCH_ONEDNN_SGEMM
#include <omp.h>

#include "oneapi/dnnl/dnnl.h"
#endif

namespace lstmkit::bench {
namespace {

using kernels::ActiveKernels;
using kernels::Blocking;
using kernels::DefaultBlocking;

std::vector<float> Filled(size_t n, float value) {
  return std::vector<float>(n, value);
}

void ReportFlops(benchmark::State& state, double flops_per_iteration) {
  const double peak = MeasuredFmaPeakGflops();
  state.counters["GFLOPs"] =
      benchmark::Counter(flops_per_iteration * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_GFLOPs"] = peak;
  state.SetLabel(ActiveKernels().name);
}

// C[M][N] = A[M][K] * B[N][K]^T with B packed once, as for weights.
void BM_GemmPackedNT(benchmark::State& state) {
  const int m = state.range(0), n = state.range(1), k = state.range(2);
  const auto& kt = ActiveKernels();
  const Blocking blk = kernels::DefaultPackedBlocking(kt);
  std::vector<float> a = Filled(static_cast<size_t>(m) * k, 0.5f);
  std::vector<float> b = Filled(static_cast<size_t>(n) * k, 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * n);
  kernels::PackedB packed;
  kernels::PackPanels(
      k, n, kernels::kPanelVectors * kt.lanes,
      [&](int kk, int nn) { return b[static_cast<size_t>(nn) * k + kk]; },
      &packed);
  for (auto _ : state) {
    kt.gemm_packed(m, n, k, {a.data(), k, 1}, packed, 0.0f, c.data(), n, blk);
    benchmark::DoNotOptimize(c.data());
  }
  ReportFlops(state, 2.0 * m * n * k);
}

// Which operands of C[M][N] = A B are stored transposed: A as [K][M], B
// as [N][K].
struct GemmLayout {
  bool a_transposed;
  bool b_transposed;
};

// C = A B with B packed per block as it goes, as for the products whose B
// is not a weight matrix packed ahead.
void TimeGemmPackingB(benchmark::State& state, GemmLayout layout) {
  const int m = state.range(0), n = state.range(1), k = state.range(2);
  const auto& kt = ActiveKernels();
  const Blocking blk = DefaultBlocking(kt);
  std::vector<float> a = Filled(static_cast<size_t>(m) * k, 0.5f);
  std::vector<float> b = Filled(static_cast<size_t>(k) * n, 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * n);
  const kernels::MatrixA a_view = layout.a_transposed
                                      ? kernels::MatrixA{a.data(), 1, m}
                                      : kernels::MatrixA{a.data(), k, 1};
  const kernels::MatrixB b_view = layout.b_transposed
                                      ? kernels::MatrixB{b.data(), 1, k}
                                      : kernels::MatrixB{b.data(), n, 1};
  for (auto _ : state) {
    kt.gemm(m, n, k, a_view, b_view, 0.0f, c.data(), n, blk);
    benchmark::DoNotOptimize(c.data());
  }
  ReportFlops(state, 2.0 * m * n * k);
}

// C[M][N] = A[K][M]^T * B[K][N]: weight gradients.
void BM_GemmTN(benchmark::State& state) {
  TimeGemmPackingB(state, {true, false});
}

// C[M][N] = A[M][K] * B[K][N].
void BM_GemmNN(benchmark::State& state) {
  TimeGemmPackingB(state, {false, false});
}

// C[M][N] = A[M][K] * B[N][K]^T: the product of BM_GemmPackedNT without the
// weights packed ahead, as a general SGEMM computes it.
void BM_GemmNT(benchmark::State& state) {
  TimeGemmPackingB(state, {false, true});
}

#ifdef LSTMKIT_BENCH_ONEDNN_SGEMM
// oneDNN's SGEMM on one thread, the same product as BM_GemmNT: the
// reference the GEMM's share of the FMA peak is judged against. Run it
// interleaved with ours (--benchmark_enable_random_interleaving=true
// --benchmark_repetitions=N): on a shared or throttling machine the speed
// of the core drifts between runs.
void BM_OneDnnSgemmNT(benchmark::State& state) {
  const int m = state.range(0), n = state.range(1), k = state.range(2);
  std::vector<float> a = Filled(static_cast<size_t>(m) * k, 0.5f);
  std::vector<float> b = Filled(static_cast<size_t>(n) * k, 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * n);
  const unsigned runtime = dnnl_version()->cpu_runtime;
  if (runtime != DNNL_RUNTIME_OMP && runtime != DNNL_RUNTIME_SEQ) {
    state.SkipWithError("oneDNN's threads cannot be limited to one here");
    return;
  }
  omp_set_num_threads(1);
  for (auto _ : state) {
    if (dnnl_sgemm('N', 'T', m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f,
                   c.data(), n) != dnnl_success) {
      state.SkipWithError("dnnl_sgemm failed");
      break;
    }
    benchmark::DoNotOptimize(c.data());
  }
  ReportFlops(state, 2.0 * m * n * k);
  state.SetLabel(runtime == DNNL_RUNTIME_OMP ? "oneDNN OpenMP"
                                             : "oneDNN sequential");
}
#endif

// One fused recurrent step: gates += h_prev * W_hh^T, then the gate tail.
void BM_LstmStep(benchmark::State& state) {
  const int batch = state.range(0), hidden = state.range(1);
  const auto& kt = ActiveKernels();
  const int pw = kernels::kPanelVectors * kt.lanes;
  kernels::PackedB w;
  kernels::PackPanels(
      hidden, 4 * hidden, pw, [](int, int) { return 0.01f; }, &w);
  const int gate_stride = w.panels() * pw;
  std::vector<float> gates(static_cast<size_t>(batch) * gate_stride, 0.1f);
  std::vector<float> h_prev(static_cast<size_t>(batch) * hidden, 0.5f);
  std::vector<float> c_prev(h_prev.size(), 0.2f), c(h_prev.size()),
      h(h_prev.size());
  kernels::LstmStepArgs args;
  args.batch = batch;
  args.hidden = hidden;
  args.h_prev = kernels::StateRows::Contiguous(h_prev.data(), hidden);
  args.w_hh = &w;
  args.gates = gates.data();
  args.gate_stride = gate_stride;
  args.store_gates = false;
  args.c_prev = kernels::StateRows::Contiguous(c_prev.data(), hidden);
  args.c = c.data();
  args.h = h.data();
  args.mr = batch == 1 ? 1 : DefaultBlocking(kt).mr;
  const Blocking packed_blocking = kernels::DefaultPackedBlocking(kt);
  if (state.range(2) == 1) args.gemm_blocking = &packed_blocking;
  for (auto _ : state) {
    kt.lstm_step(args);
    benchmark::DoNotOptimize(h.data());
  }
  ReportFlops(state, 2.0 * batch * 4.0 * hidden * hidden);
  state.counters["weight_GBps"] =
      benchmark::Counter(4.0 * hidden * hidden * sizeof(float) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

// y = x B over packed weights (the batch-1 step's product) in weight GB/s;
// args: N, K, bfloat16 (0/1). 64 x 128 sits in L1 (the loop's own
// ceiling); with N = 4H and K = H, f32 weights fit a 512 KiB L2 up to
// H = 128 and bfloat16 up to H = 181.
void BM_GemvPacked(benchmark::State& state) {
  const int n = state.range(0), k = state.range(1);
  const bool bf16 = state.range(2) == 1;
  const auto& kt = ActiveKernels();
  const int pw = kernels::kPanelVectors * kt.lanes;
  auto weight = [](int kk, int nn) { return 0.001f * ((kk + nn) % 7); };
  kernels::PackedB f32;
  kernels::PackedBF16 half;
  if (bf16) {
    kernels::PackPanelsBF16(k, n, pw, weight, &half);
  } else {
    kernels::PackPanels(k, n, pw, weight, &f32);
  }
  std::vector<float> x = Filled(k, 0.5f), y(n);
  for (auto _ : state) {
    if (bf16) {
      kt.gemv_packed_bf16(n, k, x.data(), half.Panels(0, half.panels()),
                          nullptr, y.data());
    } else {
      kt.gemv_packed(n, k, x.data(), f32.Panels(0, f32.panels()), nullptr,
                     y.data());
    }
    benchmark::DoNotOptimize(y.data());
  }
  ReportFlops(state, 2.0 * n * k);
  state.counters["weight_GBps"] =
      benchmark::Counter(1e-9 * n * k * (bf16 ? 2 : 4),
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemvPacked)
    ->Args({64, 128, 0})
    ->Args({64, 128, 1})
    ->Args({512, 128, 0})
    ->Args({512, 128, 1})
    ->Args({1024, 256, 0})
    ->Args({1024, 256, 1})
    ->Args({2048, 512, 0})
    ->Args({2048, 512, 1});

// One optimizer update over n parameters (args: n, 1 for Adam, 1 for the
// kernel or 0 for the scalar rule it matches), in parameters per second.
void BM_OptimizerUpdate(benchmark::State& state) {
  const size_t n = state.range(0);
  kernels::UpdateRule rule;
  rule.learning_rate = 1e-3f;
  if (state.range(1) == 1) {
    rule.adam = true;
    rule.beta1 = 0.9f;
    rule.beta2 = 0.999f;
    rule.epsilon = 1e-8f;
    rule.step_size = 1e-2f;
    rule.root_correction2 = 0.05f;
  }
  std::vector<float> grad = Filled(n, 1e-3f), param = Filled(n, 0.5f),
                     first = Filled(n, 0.0f), second = Filled(n, 0.0f);
  float* f = rule.adam ? first.data() : nullptr;
  float* s = rule.adam ? second.data() : nullptr;
  const auto& kt = ActiveKernels();
  for (auto _ : state) {
    if (state.range(2) == 1) {
      kt.apply_update(rule, grad.data(), param.data(), f, s, n);
    } else {
      for (size_t i = 0; i < n; ++i) {
        const kernels::UpdatedParameter u = kernels::UpdateOne(
            rule, grad[i], param[i], f ? f[i] : 0.0f, s ? s[i] : 0.0f);
        param[i] = u.param;
        if (f != nullptr) {
          f[i] = u.first;
          s[i] = u.second;
        }
      }
    }
    benchmark::DoNotOptimize(param.data());
  }
  state.counters["params_per_s"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(kt.name);
}
BENCHMARK(BM_OptimizerUpdate)
    ->ArgsProduct({{1 << 16, 1 << 19}, {0, 1}, {0, 1}});

// Every tile shape a tuner may choose, on the 512 cube; args: candidate
// index, kc (0 = default).
void BM_GemmTiles(benchmark::State& state) {
  const auto& kt = ActiveKernels();
  Blocking blk = kernels::TileCandidates(kt)[state.range(0)];
  if (state.range(1) > 0) blk.kc = state.range(1);
  const int m = 512, n = 512, k = 512;
  std::vector<float> a = Filled(static_cast<size_t>(m) * k, 0.5f);
  std::vector<float> b = Filled(static_cast<size_t>(n) * k, 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * n);
  kernels::PackedB packed;
  kernels::PackPanels(
      k, n, kernels::kPanelVectors * kt.lanes,
      [&](int kk, int nn) { return b[static_cast<size_t>(nn) * k + kk]; },
      &packed);
  for (auto _ : state) {
    kt.gemm_packed(m, n, k, {a.data(), k, 1}, packed, 0.0f, c.data(), n, blk);
    benchmark::DoNotOptimize(c.data());
  }
  ReportFlops(state, 2.0 * m * n * k);
  state.SetLabel(
      std::string(kt.name) + " mr=" + std::to_string(blk.mr) +
      " nr=" + std::to_string(blk.nr) + " kc=" + std::to_string(blk.kc) +
      " mc=" + std::to_string(blk.mc) + " nc=" + std::to_string(blk.nc));
}
BENCHMARK(BM_GemmTiles)
    ->ArgsProduct({benchmark::CreateDenseRange(0, 13, 1), {0, 256, 384}});

// The activations on an L1-resident array of pre-activations in [-4, 4]:
// the forward gate tail takes three sigmoids and two tanh per hidden unit.
void TimeActivation(benchmark::State& state,
                    void (*fn)(const float*, float*, size_t)) {
  const size_t n = 4096;
  std::vector<float> in(n), out(n);
  for (size_t i = 0; i < n; ++i)
    in[i] = static_cast<float>(i % 200) * 0.04f - 4.0f;
  for (auto _ : state) {
    fn(in.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  // Seconds per value, printed with an SI prefix (n = nanoseconds).
  state.counters["s_per_value"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                  benchmark::Counter::kInvert);
  state.SetLabel(ActiveKernels().name);
}

void BM_Sigmoid(benchmark::State& state) {
  TimeActivation(state, ActiveKernels().sigmoid);
}
void BM_Tanh(benchmark::State& state) {
  TimeActivation(state, ActiveKernels().tanh);
}
BENCHMARK(BM_Sigmoid);
BENCHMARK(BM_Tanh);

// The cell backward is elementwise: its speed is the bytes it moves.
void BM_LstmCellBackward(benchmark::State& state) {
  const int batch = state.range(0), hidden = state.range(1);
  const auto& kt = ActiveKernels();
  const int width = (hidden + kt.lanes - 1) / kt.lanes * 4 * kt.lanes;
  const size_t states = static_cast<size_t>(batch) * hidden;
  std::vector<float> gates(static_cast<size_t>(batch) * width, 0.5f);
  std::vector<float> d_gates(gates.size());
  std::vector<float> c_prev(states, 0.1f), tanh_c(states, 0.2f),
      dh_above(states, 0.3f), dh_rec(states, 0.4f), dc(states, 0.5f);
  kernels::LstmCellBackwardArgs args;
  args.batch = batch;
  args.hidden = hidden;
  args.gates = gates.data();
  args.gate_stride = width;
  args.c_prev = kernels::StateRows::Contiguous(c_prev.data(), hidden);
  args.tanh_c = tanh_c.data();
  args.dh_above = dh_above.data();
  args.dh_recurrent = dh_rec.data();
  args.dc_carry = dc.data();
  args.d_gates = d_gates.data();
  for (auto _ : state) {
    kt.lstm_cell_backward(args);
    benchmark::DoNotOptimize(d_gates.data());
  }
  // Reads gates and five state rows; writes d_gates and dc.
  const double bytes = sizeof(float) * (2.0 * gates.size() + 6.0 * states);
  state.SetBytesProcessed(static_cast<int64_t>(bytes * state.iterations()));
  state.SetLabel(kt.name);
}

// A plain copy of as many bytes as the cell backward moves, for scale.
// glibc 2.36 copies blocks smaller than L2 with `rep movsb`, which some
// AMD machines run far slower than a vector loop (B=64 H=256, 448 KiB:
// 158 us against 12 us on Zen 3 with
// GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=2000000); set that to
// compare with the vector copy.
void BM_MemcpyLikeCellBackward(benchmark::State& state) {
  const int batch = state.range(0), hidden = state.range(1);
  const size_t floats = static_cast<size_t>(batch) * hidden * (4 + 3);
  std::vector<float> src(floats, 1.0f), dst(floats);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), floats * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(2.0 * floats * sizeof(float) * state.iterations()));
}

// Any shape with any blocking, for exploring: args m, n, k, mr, nr, kc, mc,
// nc. Run with --benchmark_filter=Explore and a custom list below.
void BM_GemmExplore(benchmark::State& state) {
  const int m = state.range(0), n = state.range(1), k = state.range(2);
  const auto& kt = ActiveKernels();
  Blocking blk;
  blk.mr = state.range(3);
  blk.nr = state.range(4);
  blk.kc = state.range(5);
  blk.mc = state.range(6);
  blk.nc = state.range(7);
  std::vector<float> a = Filled(static_cast<size_t>(m) * k, 0.5f);
  std::vector<float> b = Filled(static_cast<size_t>(n) * k, 0.25f);
  std::vector<float> c(static_cast<size_t>(m) * n);
  kernels::PackedB packed;
  kernels::PackPanels(
      k, n, kernels::kPanelVectors * kt.lanes,
      [&](int kk, int nn) { return b[static_cast<size_t>(nn) * k + kk]; },
      &packed);
  for (auto _ : state) {
    kt.gemm_packed(m, n, k, {a.data(), k, 1}, packed, 0.0f, c.data(), n, blk);
    benchmark::DoNotOptimize(c.data());
  }
  ReportFlops(state, 2.0 * m * n * k);
}
BENCHMARK(BM_GemmExplore)
    ->ArgsProduct({{6400},
                   {1024},
                   {256},
                   {6},
                   {2},
                   {128, 256},
                   {48, 96, 256},
                   {256, 1024}});

BENCHMARK(BM_LstmCellBackward)
    ->Args({64, 256})
    ->Args({64, 512})
    ->Args({1, 512});
BENCHMARK(BM_MemcpyLikeCellBackward)
    ->Args({64, 256})
    ->Args({64, 512})
    ->Args({1, 512});

BENCHMARK(BM_GemmPackedNT)
    ->Args({256, 256, 256})
    ->Args({512, 512, 512})
    ->Args({1024, 1024, 1024})
    ->Args({6400, 1024, 256})  // input projection, B=64 T=100 H=256
    ->Args({3200, 2048, 512})  // input projection, B=64 T=50 H=512
    ->Args({64, 1024, 256})    // the recurrent product of one step
    ->Args({64, 2048, 512})
    ->Args({512, 2048, 512})
    ->Args({64, 2048, 128});
// The products timed both ours and oneDNN's way: the cubes and the two
// input projections.
void SgemmShapes(benchmark::internal::Benchmark* b) {
  b->Args({512, 512, 512})
      ->Args({1024, 1024, 1024})
      ->Args({6400, 1024, 256})
      ->Args({3200, 2048, 512});
}
BENCHMARK(BM_GemmNT)->Apply(SgemmShapes);
#ifdef LSTMKIT_BENCH_ONEDNN_SGEMM
BENCHMARK(BM_OneDnnSgemmNT)->Apply(SgemmShapes);
#endif
BENCHMARK(BM_GemmTN)
    ->Args({512, 512, 512})
    ->Args({1024, 256, 6400})   // dW_ih, B=64 T=100 H=256
    ->Args({1024, 256, 100})    // dW_ih, B=1 T=100 H=256
    ->Args({2048, 512, 3200});  // dW_ih, B=64 T=50 H=512
BENCHMARK(BM_GemmNN)->Args({512, 512, 512})->Args({6400, 256, 1024});
// Args: batch, H, and 1 to run a batch of 16 or more rows with the
// recurrent product as a GEMM, then the gate tails, 0 for the fused tiles.
// The model takes whichever KernelTable::step_as_gemm names for the target.
BENCHMARK(BM_LstmStep)
    ->ArgsProduct({{64}, {256, 512}, {0, 1}})
    ->Args({1, 256, 0})
    ->Args({1, 512, 0});

}  // namespace
}  // namespace lstmkit::bench

BENCHMARK_MAIN();
