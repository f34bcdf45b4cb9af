// Vectorized sigmoid and tanh. Both are exact at +-0, saturate on huge
// inputs without NaN, and pass NaN through.
#if defined(LSTMKIT_SIMD_ACTIVATIONS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSTMKIT_SIMD_ACTIVATIONS_INL_H_
#undef LSTMKIT_SIMD_ACTIVATIONS_INL_H_
#else
#define LSTMKIT_SIMD_ACTIVATIONS_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// e^x for x <= 0, and 0 below -87 (where e^x leaves the normal floats).
// Both activations only ever need the exponential of a non-positive
// number, so the general exponential's range split, its rounding by sign
// and its two-step scaling for huge results are left out: n = round(x /
// ln 2), r = x - n ln 2 in two parts, e^r by the degree-7 polynomial of
// Highway's Exp, 2^n straight into the exponent bits.
template <class D, class V>
HWY_INLINE V ExpOfNonPositive(D d, V x) {
  const hn::RebindToSigned<D> di;
  const V lowest = hn::Set(d, -87.0f);
  const V clamped = hn::Max(x, lowest);
  // Adding 1.5 * 2^23 rounds x / ln 2 to the nearest integer n and leaves n
  // in the low mantissa bits; cheaper than a conversion and its fix-ups.
  const V shifter = hn::Set(d, 12582912.0f);
  const V shifted = hn::MulAdd(clamped, hn::Set(d, 1.44269504f), shifter);
  const V nf = hn::Sub(shifted, shifter);
  const auto n = hn::Sub(hn::BitCast(di, shifted), hn::BitCast(di, shifter));
  V r = hn::MulAdd(nf, hn::Set(d, -0.693145751953125f), clamped);
  r = hn::MulAdd(nf, hn::Set(d, -1.428606765330187045e-6f), r);
  const V r2 = hn::Mul(r, r);
  const V r4 = hn::Mul(r2, r2);
  const V p01 =
      hn::MulAdd(hn::Set(d, 0.166666671633720397949219f), r, hn::Set(d, 0.5f));
  const V p23 = hn::MulAdd(hn::Set(d, 0.00833336077630519866943359f), r,
                           hn::Set(d, 0.0416664853692054748535156f));
  const V p45 = hn::MulAdd(hn::Set(d, 0.000198527617612853646278381f), r,
                           hn::Set(d, 0.00139304355252534151077271f));
  const V poly = hn::MulAdd(r4, p45, hn::MulAdd(r2, p23, p01));
  const V e_r = hn::Add(hn::MulAdd(poly, r2, r), hn::Set(d, 1.0f));
  const V scale =
      hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(n, hn::Set(di, 127))));
  return hn::IfThenElseZero(hn::Ge(x, lowest), hn::Mul(e_r, scale));
}

// 1 / y for y in [1, 2]: the hardware estimate refined by one Newton step,
// instead of a division, whose throughput bounds the activations.
template <class D, class V>
HWY_INLINE V ReciprocalOneToTwo(D d, V y) {
  const V estimate = hn::ApproximateReciprocal(y);
  const V error = hn::NegMulAdd(y, estimate, hn::Set(d, 1.0f));
  return hn::MulAdd(estimate, error, estimate);
}

// sigmoid(-|x|) = e / (1 + e) with e = e^-|x|, so the exponential never
// overflows and small results keep their relative accuracy; sigmoid(|x|) =
// 1 - sigmoid(-|x|), which is exactly 1 once e underflows. Only x = 0
// needs a case of its own: the refined reciprocal of 2 is not exactly 1/2.
template <class D, class V>
HWY_INLINE V VecSigmoid(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V e = ExpOfNonPositive(d, hn::Neg(hn::Abs(x)));  // in [0, 1]
  const V negative = hn::Mul(e, ReciprocalOneToTwo(d, hn::Add(one, e)));
  const V positive = hn::Sub(one, negative);
  V result = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), negative, positive);
  result = hn::IfThenElse(hn::Eq(x, hn::Zero(d)), hn::Set(d, 0.5f), result);
  return hn::IfThenElse(hn::IsNaN(x), x, result);
}

// tanh |x| = 1 - 2 e / (1 + e) with e = e^(-2|x|), which cancels badly as
// |x| nears 0; below 0.625 an odd polynomial (Cephes' tanhf) takes over.
// The sign is copied back, so tanh(-0) = -0.
template <class D, class V>
HWY_INLINE V VecTanh(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V abs_x = hn::Abs(x);
  const V z = hn::Mul(x, x);
  V p = hn::MulAdd(hn::Set(d, -5.70498872745e-3f), z,
                   hn::Set(d, 2.06390887954e-2f));
  p = hn::MulAdd(p, z, hn::Set(d, -5.37397155531e-2f));
  p = hn::MulAdd(p, z, hn::Set(d, 1.33314422036e-1f));
  p = hn::MulAdd(p, z, hn::Set(d, -3.33332819422e-1f));
  const V small = hn::MulAdd(hn::Mul(p, z), abs_x, abs_x);
  const V e = ExpOfNonPositive(d, hn::Mul(abs_x, hn::Set(d, -2.0f)));
  const V two_e = hn::Add(e, e);
  const V large =
      hn::NegMulAdd(two_e, ReciprocalOneToTwo(d, hn::Add(one, e)), one);
  const V result = hn::CopySignToAbs(
      hn::IfThenElse(hn::Lt(abs_x, hn::Set(d, 0.625f)), small, large), x);
  return hn::IfThenElse(hn::IsNaN(x), x, result);
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_ACTIVATIONS_INL_H_
