// Shared helpers for the tests: random data and error measures.
#ifndef LSTMKIT_TESTS_TEST_UTIL_H_
#define LSTMKIT_TESTS_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "rng.h"

namespace lstmkit::testing {

inline std::vector<float> RandomVector(size_t n, uint64_t seed,
                                       float low = -1.0f, float high = 1.0f) {
  internal::Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = rng.Uniform(low, high);
  return v;
}

// Infinite when the sizes differ or any pair holds a NaN, so that a
// comparison against a bound fails instead of silently skipping the NaN.
template <typename A, typename B>
double MaxAbsDiff(const A& a, const B& b) {
  double worst = a.size() == b.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < std::min<size_t>(a.size(), b.size()); ++i) {
    const double diff = std::abs(double(a[i]) - double(b[i]));
    if (std::isnan(diff)) return INFINITY;
    worst = std::max(worst, diff);
  }
  return worst;
}

// max |a - b| / max(max |b|, floor): an error relative to the tensor's scale,
// so that near-zero entries do not dominate.
template <typename A, typename B>
double RelativeError(const A& a, const B& b, double floor = 1e-3) {
  double scale = floor;
  for (size_t i = 0; i < b.size(); ++i)
    scale = std::max(scale, std::abs(double(b[i])));
  return MaxAbsDiff(a, b) / scale;
}

}  // namespace lstmkit::testing

#endif  // LSTMKIT_TESTS_TEST_UTIL_H_
