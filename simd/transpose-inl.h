// Rows of a matrix transposed into the columns of a panel, for repacking
// weights after every optimizer step.
#if defined(LSTMKIT_SIMD_TRANSPOSE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSTMKIT_SIMD_TRANSPOSE_INL_H_
#undef LSTMKIT_SIMD_TRANSPOSE_INL_H_
#else
#define LSTMKIT_SIMD_TRANSPOSE_INL_H_
#endif

#include <algorithm>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

// out[k * out_stride + j] = rows[j][k] for rows [first, end), k in
// [k0, k1); a null row gives zeros.
inline void TransposeRowsScalar(const float* const* rows, int first, int end,
                                int k0, int k1, float* out, int out_stride) {
  for (int j = first; j < end; ++j) {
    const float* row = rows[j];
    for (int k = k0; k < k1; ++k) {
      out[static_cast<ptrdiff_t>(k) * out_stride + j] =
          row == nullptr ? 0.0f : row[k];
    }
  }
}

#if HWY_TARGET != HWY_SCALAR
// Four rows, k in [k0, k1), in 4 x 4 blocks of 128-bit vectors: four loads,
// eight shuffles and four stores where a scalar copy takes sixteen loads
// and sixteen stores.
inline void TransposeFourRows(const float* const* rows, int k0, int k1,
                              float* out, int out_stride) {
  const hn::Full128<float> d;
  int k = k0;
  for (; k + 4 <= k1; k += 4) {
    const auto r0 = hn::LoadU(d, rows[0] + k);
    const auto r1 = hn::LoadU(d, rows[1] + k);
    const auto r2 = hn::LoadU(d, rows[2] + k);
    const auto r3 = hn::LoadU(d, rows[3] + k);
    const auto low01 = hn::InterleaveLower(d, r0, r1);
    const auto low23 = hn::InterleaveLower(d, r2, r3);
    const auto high01 = hn::InterleaveUpper(d, r0, r1);
    const auto high23 = hn::InterleaveUpper(d, r2, r3);
    float* dst = out + static_cast<ptrdiff_t>(k) * out_stride;
    hn::StoreU(hn::ConcatLowerLower(d, low23, low01), d, dst);
    hn::StoreU(hn::ConcatUpperUpper(d, low23, low01), d, dst + out_stride);
    hn::StoreU(hn::ConcatLowerLower(d, high23, high01), d,
               dst + 2 * out_stride);
    hn::StoreU(hn::ConcatUpperUpper(d, high23, high01), d,
               dst + 3 * out_stride);
  }
  TransposeRowsScalar(rows, 0, 4, k, k1, out, out_stride);
}
#endif

// out[k * out_stride + j] = rows[j][k] for j < count, k < cols (a null row
// gives zeros). k walks in chunks whose output rows stay in L1 while every
// group of four rows writes its columns of them.
inline void TransposeRows(const float* const* rows, int count, int cols,
                          float* out, int out_stride) {
  constexpr int kChunk = 64;
  for (int k0 = 0; k0 < cols; k0 += kChunk) {
    const int k1 = std::min(cols, k0 + kChunk);
    int j = 0;
#if HWY_TARGET != HWY_SCALAR
    for (; j + 4 <= count; j += 4) {
      const float* const* four = rows + j;
      if (std::find(four, four + 4, nullptr) != four + 4) {
        TransposeRowsScalar(rows, j, j + 4, k0, k1, out, out_stride);
      } else {
        TransposeFourRows(four, k0, k1, out + j, out_stride);
      }
    }
#endif
    TransposeRowsScalar(rows, j, count, k0, k1, out, out_stride);
  }
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_TRANSPOSE_INL_H_
