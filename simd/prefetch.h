// Asking for the C tile that the next micro-tile will load and store.
#ifndef LSTMKIT_SIMD_PREFETCH_H_
#define LSTMKIT_SIMD_PREFETCH_H_

#include <cstddef>
#include <cstdint>

namespace lstmkit::kernels {

// Asks for every cache line that `rows` rows of `cols` floats, `stride`
// floats apart from `c`, touch, for writing. A tile starts its sums from C
// (to keep K in order); when C is larger than L2 (the pre-activations of
// every step), every tile would otherwise start by waiting on L3 or
// memory. Every line a row touches is asked for: rows need not start on a
// line (a std::vector's large blocks start 16 bytes past one), and a
// 64-byte row part then spans two lines. Nothing is asked for when rows is
// 0 or less.
inline void PrefetchTileOfC(const float* c, ptrdiff_t stride, int rows,
                            size_t cols) {
  constexpr uintptr_t kLine = 64;
  for (int r = 0; r < rows; ++r) {
    const float* row = c + r * stride;
    const uintptr_t first = reinterpret_cast<uintptr_t>(row) & ~(kLine - 1);
    const uintptr_t last = reinterpret_cast<uintptr_t>(row + cols) - 1;
    for (uintptr_t line = first; line <= last; line += kLine) {
      __builtin_prefetch(reinterpret_cast<const void*>(line), 1, 3);
    }
  }
}

}  // namespace lstmkit::kernels

#endif  // LSTMKIT_SIMD_PREFETCH_H_
