// Vectorized sigmoid and tanh. Both are exact at +-0, saturate on huge
// inputs without NaN, and pass NaN through.
#if defined(LSTMKIT_SIMD_ACTIVATIONS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSTMKIT_SIMD_ACTIVATIONS_INL_H_
#undef LSTMKIT_SIMD_ACTIVATIONS_INL_H_
#else
#define LSTMKIT_SIMD_ACTIVATIONS_INL_H_
#endif

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 1 / (1 + e^-x), evaluated through e^-|x| so the exponential never
// overflows and small results keep their relative accuracy.
template <class D, class V>
HWY_INLINE V VecSigmoid(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V e = hn::Exp(d, hn::Neg(hn::Abs(x)));  // in [0, 1]
  const V positive = hn::Div(one, hn::Add(one, e));
  const V result =
      hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Mul(e, positive), positive);
  return hn::IfThenElse(hn::IsNaN(x), x, result);
}

// Highway's Tanh saturates past |x| = 18.7 but does not propagate NaN.
template <class D, class V>
HWY_INLINE V VecTanh(D d, V x) {
  return hn::IfThenElse(hn::IsNaN(x), x, hn::Tanh(d, x));
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_ACTIVATIONS_INL_H_
