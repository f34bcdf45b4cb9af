// Loading a packed panel row's weights as f32 vectors, for the GEMV and the
// fused step alike.
#if defined(LSTMKIT_SIMD_PANEL_WEIGHTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSTMKIT_SIMD_PANEL_WEIGHTS_INL_H_
#undef LSTMKIT_SIMD_PANEL_WEIGHTS_INL_H_
#else
#define LSTMKIT_SIMD_PANEL_WEIGHTS_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// V consecutive weight vectors of a panel row as f32: loaded as they are,
// or widened exactly from bfloat16 pairs (PackedPanelsBF16's layout). In a
// pair's 32-bit lanes the odd vector's values are already the high halves
// (masked out), and the even vector's values move there:
// - on AVX-512 by a shift of the same load: on Zen 5 a batch-1 bfloat16
//   step ran 1.06-1.3x faster than with a second load (H = 128 to 1024,
//   7 alternating runs); that load starts two bytes before a cache line
//   and so spans two in every panel row;
// - elsewhere by that second load, two bytes earlier, masked the same
//   way: on Zen 3 (AVX2) the shift competed with the FMAs for the vector
//   pipes, and a batch-1 bfloat16 step at H = 128 ran 9 % slower with it
//   (11 alternating runs).
template <size_t V>
HWY_INLINE void LoadWeights(hn::ScalableTag<float> d, const float* p,
                            hn::Vec<hn::ScalableTag<float>>* out) {
#pragma GCC unroll 4
  for (size_t v = 0; v < V; ++v) out[v] = hn::LoadU(d, p + v * hn::Lanes(d));
}
template <size_t V>
HWY_INLINE void LoadWeights(hn::ScalableTag<float> d, const uint16_t* p,
                            hn::Vec<hn::ScalableTag<float>>* out) {
  static_assert(V % 2 == 0, "bfloat16 weights come in vector pairs");
  const hn::RebindToUnsigned<decltype(d)> du;
  const auto high_half = hn::Set(du, 0xFFFF0000u);
#pragma GCC unroll 2
  for (size_t pair = 0; pair < V / 2; ++pair) {
    const uint16_t* at = p + 2 * pair * hn::Lanes(d);
    const auto odd = hn::LoadU(du, reinterpret_cast<const uint32_t*>(at));
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
    out[2 * pair] = hn::BitCast(d, hn::ShiftLeft<16>(odd));
#else
    const auto even = hn::LoadU(du, reinterpret_cast<const uint32_t*>(at - 1));
    out[2 * pair] = hn::BitCast(d, hn::And(even, high_half));
#endif
    out[2 * pair + 1] = hn::BitCast(d, hn::And(odd, high_half));
  }
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_PANEL_WEIGHTS_INL_H_
