#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "fma_peak.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Twelve independent accumulator chains hide the FMA latency on every
// current x86 core; returns FLOPs done and a value that keeps the loop live.
double FmaLoop(long iterations, float* sink) {
  const hn::ScalableTag<float> d;
  const auto m = hn::Set(d, 0.999999f);
  const auto a = hn::Set(d, 1e-7f);
  // Distinct starting values, or the compiler merges identical chains.
  auto v0 = hn::Set(d, 1.00f), v1 = hn::Set(d, 1.01f), v2 = hn::Set(d, 1.02f);
  auto v3 = hn::Set(d, 1.03f), v4 = hn::Set(d, 1.04f), v5 = hn::Set(d, 1.05f);
  auto v6 = hn::Set(d, 1.06f), v7 = hn::Set(d, 1.07f), v8 = hn::Set(d, 1.08f);
  auto v9 = hn::Set(d, 1.09f), v10 = hn::Set(d, 1.10f), v11 = hn::Set(d, 1.11f);
  for (long i = 0; i < iterations; ++i) {
    v0 = hn::MulAdd(v0, m, a);
    v1 = hn::MulAdd(v1, m, a);
    v2 = hn::MulAdd(v2, m, a);
    v3 = hn::MulAdd(v3, m, a);
    v4 = hn::MulAdd(v4, m, a);
    v5 = hn::MulAdd(v5, m, a);
    v6 = hn::MulAdd(v6, m, a);
    v7 = hn::MulAdd(v7, m, a);
    v8 = hn::MulAdd(v8, m, a);
    v9 = hn::MulAdd(v9, m, a);
    v10 = hn::MulAdd(v10, m, a);
    v11 = hn::MulAdd(v11, m, a);
  }
  const auto sum = hn::Add(hn::Add(hn::Add(hn::Add(v0, v1), hn::Add(v2, v3)),
                                   hn::Add(hn::Add(v4, v5), hn::Add(v6, v7))),
                           hn::Add(hn::Add(v8, v9), hn::Add(v10, v11)));
  *sink = hn::GetLane(sum);
  return 2.0 * 12 * hn::Lanes(d) * static_cast<double>(iterations);
}

}  // namespace lstmkit::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <chrono>
#include <vector>

#include "fma_peak.h"

namespace lstmkit::bench {

HWY_EXPORT(FmaLoop);

double MeasuredFmaPeakGflops() {
  std::vector<double> runs;
  float sink = 0.0f;
  for (int run = 0; run < 7; ++run) {
    const auto start = std::chrono::steady_clock::now();
    const double flops = HWY_DYNAMIC_DISPATCH(FmaLoop)(2'000'000, &sink);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    runs.push_back(flops / seconds * 1e-9);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2] + 0.0 * sink;
}

}  // namespace lstmkit::bench
#endif  // HWY_ONCE
