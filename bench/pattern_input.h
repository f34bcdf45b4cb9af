// Deterministic inputs for the benchmark programs: n values in [-0.5, 0.5)
// from a fixed linear congruential sequence, the same in every program.
#ifndef LSTMKIT_BENCH_PATTERN_INPUT_H_
#define LSTMKIT_BENCH_PATTERN_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lstmkit::bench {

inline std::vector<float> Pattern(size_t n) {
  std::vector<float> v(n);
  uint32_t state = 12345;
  for (float& x : v) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
  }
  return v;
}

}  // namespace lstmkit::bench

#endif  // LSTMKIT_BENCH_PATTERN_INPUT_H_
