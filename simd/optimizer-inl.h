// The optimizer's update over arrays of parameters, a vector at a time,
// every lane bitwise equal to UpdateOne (update_rule.h): the same
// operations in the same order, none fused.
#if defined(LSTMKIT_SIMD_OPTIMIZER_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSTMKIT_SIMD_OPTIMIZER_INL_H_
#undef LSTMKIT_SIMD_OPTIMIZER_INL_H_
#else
#define LSTMKIT_SIMD_OPTIMIZER_INL_H_
#endif

#include <cstring>
#include <limits>

#include "hwy/highway.h"
#include "kernels.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Which states a rule reads, chosen once per call rather than per vector.
enum class RuleForm { kSgd, kSgdMomentum, kAdam };

// Where an update reads and writes; a null output is not written, a null
// state is not kept by the rule.
struct UpdateArrays {
  const float* grad;
  const float* param;
  const float* first;
  const float* second;
  float* param_out;
  float* first_out;
  float* second_out;
};

// Updates the vector at offset i of every array; returns the new
// parameters.
template <RuleForm F, class D>
HWY_INLINE hn::Vec<D> UpdateVector(D d, const UpdateRule& r,
                                   const UpdateArrays& a, size_t i) {
  const auto param = hn::LoadU(d, a.param + i);
  const auto g = hn::Add(hn::LoadU(d, a.grad + i),
                         hn::Mul(hn::Set(d, r.weight_decay), param));
  if constexpr (F == RuleForm::kSgd) {
    return hn::Sub(param, hn::Mul(hn::Set(d, r.learning_rate), g));
  } else if constexpr (F == RuleForm::kSgdMomentum) {
    const auto velocity = r.first_step
                              ? g
                              : hn::Add(hn::Mul(hn::Set(d, r.momentum),
                                                hn::LoadU(d, a.first + i)),
                                        g);
    if (a.first_out != nullptr) hn::StoreU(velocity, d, a.first_out + i);
    return hn::Sub(param, hn::Mul(hn::Set(d, r.learning_rate), velocity));
  } else {
    const auto m =
        hn::Add(hn::Mul(hn::Set(d, r.beta1), hn::LoadU(d, a.first + i)),
                hn::Mul(hn::Set(d, 1.0f - r.beta1), g));
    const auto v =
        hn::Add(hn::Mul(hn::Set(d, r.beta2), hn::LoadU(d, a.second + i)),
                hn::Mul(hn::Mul(hn::Set(d, 1.0f - r.beta2), g), g));
    const auto denom =
        hn::Add(hn::Div(hn::Sqrt(v), hn::Set(d, r.root_correction2)),
                hn::Set(d, r.epsilon));
    if (a.first_out != nullptr) {
      hn::StoreU(m, d, a.first_out + i);
      hn::StoreU(v, d, a.second_out + i);
    }
    return hn::Sub(param, hn::Div(hn::Mul(hn::Set(d, r.step_size), m), denom));
  }
}

// Runs the update over n parameters, writing where `a` says; returns
// whether every new parameter is finite. The last partial vector runs on
// zero-padded copies, whose padding updates to finite values.
template <RuleForm F>
HWY_INLINE bool UpdateAll(const UpdateRule& r, const UpdateArrays& a,
                          size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const auto limit = hn::Set(d, std::numeric_limits<float>::max());
  auto bad = hn::Lt(limit, limit);  // all false
  auto visit = [&](const UpdateArrays& at, size_t i) {
    const auto param = UpdateVector<F>(d, r, at, i);
    // Not <= max: infinite or NaN.
    bad = hn::Or(bad, hn::Not(hn::Le(hn::Abs(param), limit)));
    if (at.param_out != nullptr) hn::StoreU(param, d, at.param_out + i);
  };
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) visit(a, i);
  if (i < n) {
    constexpr size_t kMax = HWY_MAX_BYTES / sizeof(float);
    HWY_ALIGN float buffers[7][kMax] = {};
    const size_t rest = (n - i) * sizeof(float);
    auto copy_in = [&](const float* src, float* dst) {
      if (src == nullptr) return static_cast<float*>(nullptr);
      std::memcpy(dst, src + i, rest);
      return dst;
    };
    auto out_or_null = [&](float* out, float* dst) {
      return out == nullptr ? nullptr : dst;
    };
    const UpdateArrays tail{copy_in(a.grad, buffers[0]),
                            copy_in(a.param, buffers[1]),
                            copy_in(a.first, buffers[2]),
                            copy_in(a.second, buffers[3]),
                            out_or_null(a.param_out, buffers[4]),
                            out_or_null(a.first_out, buffers[5]),
                            out_or_null(a.second_out, buffers[6])};
    visit(tail, 0);
    float* const outs[] = {a.param_out, a.first_out, a.second_out};
    for (int o = 0; o < 3; ++o) {
      if (outs[o] != nullptr) std::memcpy(outs[o] + i, buffers[4 + o], rest);
    }
  }
  return hn::AllFalse(d, bad);
}

// UpdateAll with the rule's form chosen once, from the rule.
inline bool UpdateAllForms(const UpdateRule& r, const UpdateArrays& a,
                           size_t n) {
  if (r.adam) return UpdateAll<RuleForm::kAdam>(r, a, n);
  if (r.momentum != 0.0f) return UpdateAll<RuleForm::kSgdMomentum>(r, a, n);
  return UpdateAll<RuleForm::kSgd>(r, a, n);
}

inline bool UpdateIsFinite(const UpdateRule& r, const float* grad,
                           const float* param, const float* first,
                           const float* second, size_t n) {
  return UpdateAllForms(
      r, {grad, param, first, second, nullptr, nullptr, nullptr}, n);
}

inline void ApplyUpdate(const UpdateRule& r, const float* grad, float* param,
                        float* first, float* second, size_t n) {
  UpdateAllForms(r, {grad, param, first, second, param, first, second}, n);
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_OPTIMIZER_INL_H_
