// One optimizer step's update rule, torch.optim.SGD or torch.optim.Adam,
// with the constants a step computes once, and its scalar form: the
// oracle the vector kernels (optimizer-inl.h) match bit for bit. The
// project compiles with -ffp-contract=off, so neither form fuses a multiply
// and an add that the other keeps apart.
#ifndef LSTMKIT_SIMD_UPDATE_RULE_H_
#define LSTMKIT_SIMD_UPDATE_RULE_H_

#include <cmath>

namespace lstmkit::kernels {

struct UpdateRule {
  bool adam = false;
  float learning_rate = 0.0f;
  float weight_decay = 0.0f;
  // SGD: the velocity's decay (0: no velocity); on the first step the
  // velocity starts at the gradient.
  float momentum = 0.0f;
  bool first_step = false;
  // Adam, with bias correction: step_size = lr / (1 - beta1^t) and
  // root_correction2 = sqrt(1 - beta2^t); epsilon is added after the root.
  float beta1 = 0.0f;
  float beta2 = 0.0f;
  float epsilon = 0.0f;
  float step_size = 0.0f;
  float root_correction2 = 0.0f;
};

// One parameter after the update, with its optimizer state: `first` is
// the SGD velocity or Adam's first moment, `second` Adam's second moment.
struct UpdatedParameter {
  float param;
  float first;
  float second;
};

inline UpdatedParameter UpdateOne(const UpdateRule& r, float grad, float param,
                                  float first, float second) {
  const float g = grad + r.weight_decay * param;
  if (r.adam) {
    const float m = r.beta1 * first + (1.0f - r.beta1) * g;
    const float v = r.beta2 * second + (1.0f - r.beta2) * g * g;
    const float denom = std::sqrt(v) / r.root_correction2 + r.epsilon;
    return {param - r.step_size * m / denom, m, v};
  }
  if (r.momentum == 0.0f) return {param - r.learning_rate * g, first, second};
  const float velocity = r.first_step ? g : r.momentum * first + g;
  return {param - r.learning_rate * velocity, velocity, second};
}

}  // namespace lstmkit::kernels

#endif  // LSTMKIT_SIMD_UPDATE_RULE_H_
