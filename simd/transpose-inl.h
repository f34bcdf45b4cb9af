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

#if HWY_TARGET <= HWY_AVX2
// Eight rows, k in [k0, k1), in 8 x 8 blocks of 256-bit vectors: eight
// loads, 24 shuffles and eight stores where two 4 x 4 blocks of 128-bit
// ones take 16 loads, 32 shuffles and 16 stores for half as many values.
inline void TransposeEightRows(const float* const* rows, int k0, int k1,
                               float* out, int out_stride) {
  const hn::Full256<float> d;
  const hn::Repartition<double, decltype(d)> dd;
  using V = hn::Vec<decltype(d)>;
  // Pairs of 64-bit lanes of a and b, low ones or high ones of each block.
  auto lower64 = [&](V a, V b) {
    return hn::BitCast(
        d, hn::InterleaveLower(dd, hn::BitCast(dd, a), hn::BitCast(dd, b)));
  };
  auto upper64 = [&](V a, V b) {
    return hn::BitCast(
        d, hn::InterleaveUpper(dd, hn::BitCast(dd, a), hn::BitCast(dd, b)));
  };
  int k = k0;
  for (; k + 8 <= k1; k += 8) {
    V r[8];
    for (int i = 0; i < 8; ++i) r[i] = hn::LoadU(d, rows[i] + k);
    // u[4 h + q]: rows 4 h to 4 h + 3 at k + q (low block), k + q + 4.
    V u[8];
    for (int h = 0; h < 2; ++h) {
      const V* four = r + 4 * h;
      const V even = hn::InterleaveLower(d, four[0], four[1]);
      const V odd = hn::InterleaveUpper(d, four[0], four[1]);
      const V even23 = hn::InterleaveLower(d, four[2], four[3]);
      const V odd23 = hn::InterleaveUpper(d, four[2], four[3]);
      u[4 * h] = lower64(even, even23);
      u[4 * h + 1] = upper64(even, even23);
      u[4 * h + 2] = lower64(odd, odd23);
      u[4 * h + 3] = upper64(odd, odd23);
    }
    float* dst = out + static_cast<ptrdiff_t>(k) * out_stride;
    for (int q = 0; q < 4; ++q) {
      hn::StoreU(hn::ConcatLowerLower(d, u[4 + q], u[q]), d,
                 dst + q * out_stride);
      hn::StoreU(hn::ConcatUpperUpper(d, u[4 + q], u[q]), d,
                 dst + (q + 4) * out_stride);
    }
  }
  TransposeRowsScalar(rows, 0, 8, k, k1, out, out_stride);
}
#endif

inline bool HasNullRow(const float* const* rows, int n) {
  return std::find(rows, rows + n, nullptr) != rows + n;
}

// Rows [j, j + 4) for k in [k0, k1); scalar when one is null.
inline void TransposeGroupOfFour(const float* const* rows, int j, int k0,
                                 int k1, float* out, int out_stride) {
#if HWY_TARGET != HWY_SCALAR
  if (!HasNullRow(rows + j, 4)) {
    return TransposeFourRows(rows + j, k0, k1, out + j, out_stride);
  }
#endif
  TransposeRowsScalar(rows, j, j + 4, k0, k1, out, out_stride);
}

// out[k * out_stride + j] = rows[j][k] for j < count, k < cols (a null row
// gives zeros). k walks in chunks whose output rows stay in L1 while every
// group of rows writes its columns of them. A group of eight with a null
// row goes as two groups of four.
inline void TransposeRows(const float* const* rows, int count, int cols,
                          float* out, int out_stride) {
  constexpr int kChunk = 64;
  for (int k0 = 0; k0 < cols; k0 += kChunk) {
    const int k1 = std::min(cols, k0 + kChunk);
    int j = 0;
#if HWY_TARGET <= HWY_AVX2
    for (; j + 8 <= count; j += 8) {
      if (HasNullRow(rows + j, 8)) {
        TransposeGroupOfFour(rows, j, k0, k1, out, out_stride);
        TransposeGroupOfFour(rows, j + 4, k0, k1, out, out_stride);
      } else {
        TransposeEightRows(rows + j, k0, k1, out + j, out_stride);
      }
    }
#endif
    for (; j + 4 <= count; j += 4) {
      TransposeGroupOfFour(rows, j, k0, k1, out, out_stride);
    }
    TransposeRowsScalar(rows, j, count, k0, k1, out, out_stride);
  }
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_TRANSPOSE_INL_H_
