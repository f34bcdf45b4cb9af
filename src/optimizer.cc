#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "denormals.h"
#include "model_impl.h"
#include "phase_profile.h"

namespace lstmkit {

using internal::Require;

struct Optimizer::Impl {
  OptimizerConfig config;
  int64_t steps = 0;
  std::vector<float> first;   // SGD velocity, or Adam's first moment
  std::vector<float> second;  // Adam's second moment
};

namespace {

void ValidateOptimizer(const OptimizerConfig& c) {
  Require(c.kind == OptimizerConfig::Kind::kSgd ||
              c.kind == OptimizerConfig::Kind::kAdam,
          "optimizer.kind must be kSgd or kAdam");
  Require(std::isfinite(c.learning_rate) && c.learning_rate > 0.0f,
          "optimizer.learning_rate must be a positive number, got ",
          c.learning_rate);
  Require(std::isfinite(c.weight_decay) && c.weight_decay >= 0.0f,
          "optimizer.weight_decay must be >= 0, got ", c.weight_decay);
  Require(c.momentum >= 0.0f && c.momentum < 1.0f,
          "optimizer.momentum must be in [0, 1), got ", c.momentum);
  Require(c.beta1 >= 0.0f && c.beta1 < 1.0f,
          "optimizer.beta1 must be in [0, 1), got ", c.beta1);
  Require(c.beta2 >= 0.0f && c.beta2 < 1.0f,
          "optimizer.beta2 must be in [0, 1), got ", c.beta2);
  Require(c.epsilon > 0.0f && std::isfinite(c.epsilon),
          "optimizer.epsilon must be positive, got ", c.epsilon);
}

// One parameter's update: the new parameter and state, not yet written.
struct Update {
  float param, first, second;
};

// torch.optim.SGD: the first step sets the buffer to g. The rules hold
// their settings by value so that the update loops, which store floats,
// need not reload them after every store.
struct SgdRule {
  float learning_rate, weight_decay, momentum;
  bool first_step;
  SgdRule(const OptimizerConfig& c, bool first)
      : learning_rate(c.learning_rate),
        weight_decay(c.weight_decay),
        momentum(c.momentum),
        first_step(first) {}
  Update operator()(float grad, float param, float velocity, float) const {
    float g = grad + weight_decay * param;
    if (momentum != 0.0f) {
      velocity = first_step ? g : momentum * velocity + g;
      g = velocity;
    }
    return {param - learning_rate * g, velocity, 0.0f};
  }
};

// torch.optim.Adam with bias correction, epsilon added after the square root.
struct AdamRule {
  float beta1, beta2, epsilon, weight_decay, step_size, root_correction2;
  AdamRule(const OptimizerConfig& c, int64_t step)
      : beta1(c.beta1),
        beta2(c.beta2),
        epsilon(c.epsilon),
        weight_decay(c.weight_decay) {
    const double correction1 = 1.0 - std::pow(double{c.beta1}, double(step));
    const double correction2 = 1.0 - std::pow(double{c.beta2}, double(step));
    step_size = static_cast<float>(c.learning_rate / correction1);
    root_correction2 = static_cast<float>(std::sqrt(correction2));
  }
  Update operator()(float grad, float param, float m, float v) const {
    const float g = grad + weight_decay * param;
    m = beta1 * m + (1.0f - beta1) * g;
    v = beta2 * v + (1.0f - beta2) * g * g;
    const float denom = std::sqrt(v) / root_correction2 + epsilon;
    return {param - step_size * m / denom, m, v};
  }
};

// Applies `rule` to every parameter in two passes: the first only checks
// that every new parameter is finite (an overflowing step must leave the
// model and the state untouched), the second writes. Nothing is copied.
// The check has no early exit, so that it vectorizes; only a failing step
// looks for the first bad parameter. `first_at(i)` and `second_at(i)` read
// the states (0 where the rule keeps none).
template <typename Rule, typename FirstAt, typename SecondAt>
size_t CheckAll(const Rule& rule, const float* __restrict grad,
                const float* __restrict param, FirstAt first_at,
                SecondAt second_at, size_t n) {
  int any_bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const float p = rule(grad[i], param[i], first_at(i), second_at(i)).param;
    any_bad |= !(std::fabs(p) <= std::numeric_limits<float>::max());
  }
  for (size_t i = 0; any_bad && i < n; ++i) {
    const float p = rule(grad[i], param[i], first_at(i), second_at(i)).param;
    if (!std::isfinite(p)) return i;
  }
  return n;
}

// Writes the update of `rule` to every parameter and to the states it
// keeps (first null: none; second null: only the first).
template <typename Rule>
void ApplyAll(const Rule& rule, const float* __restrict grad,
              float* __restrict param, float* __restrict first,
              float* __restrict second, size_t n) {
  if (first == nullptr) {
    for (size_t i = 0; i < n; ++i) {
      param[i] = rule(grad[i], param[i], 0.0f, 0.0f).param;
    }
    return;
  }
  if (second == nullptr) {
    for (size_t i = 0; i < n; ++i) {
      const Update u = rule(grad[i], param[i], first[i], 0.0f);
      param[i] = u.param;
      first[i] = u.first;
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    const Update u = rule(grad[i], param[i], first[i], second[i]);
    param[i] = u.param;
    first[i] = u.first;
    second[i] = u.second;
  }
}

// The index of the first parameter in [0, n) that `rule` would make
// non-finite, or n.
template <typename Rule>
size_t FirstNonFinite(const Rule& rule, const float* grad, const float* param,
                      const float* first, const float* second, size_t n) {
  auto none = [](size_t) { return 0.0f; };
  auto at = [](const float* state) {
    return [state](size_t i) { return state[i]; };
  };
  if (first == nullptr) return CheckAll(rule, grad, param, none, none, n);
  if (second == nullptr) {
    return CheckAll(rule, grad, param, at(first), none, n);
  }
  return CheckAll(rule, grad, param, at(first), at(second), n);
}

// Parameters per task: the update streams a few arrays once, so a task
// only has to be large enough to amortise handing it out.
constexpr size_t kParametersPerTask = size_t{1} << 15;

// Applies `rule` to every parameter unless one would become non-finite
// (then nothing is written and that parameter's index is returned; n
// otherwise). Tasks are fixed ranges of parameters, each updated on its
// own, so the result is the same for any thread count; denormals are
// flushed on every thread, the calling one included, for the same reason.
template <typename Rule>
size_t ApplyIfFinite(const internal::Threads& threads, const Rule& rule,
                     const float* grad, float* param, float* first,
                     float* second, size_t n) {
  auto state = [](float* base, size_t begin) {
    return base == nullptr ? nullptr : base + begin;
  };
  internal::ScopedFlushDenormals flush;
  // Per range, the index of its first bad parameter, or n.
  std::vector<size_t> bad(internal::Threads::RangeCount(n, kParametersPerTask),
                          n);
  threads.Run([&] {
    threads.ForRanges(
        n, kParametersPerTask, [&](int task, size_t begin, size_t end) {
          const size_t at = FirstNonFinite(rule, grad + begin, param + begin,
                                           state(first, begin),
                                           state(second, begin), end - begin);
          if (at < end - begin) bad[task] = begin + at;
        });
  });
  const size_t first_bad =
      bad.empty() ? n : *std::min_element(bad.begin(), bad.end());
  if (first_bad < n) return first_bad;
  threads.Run([&] {
    threads.ForRanges(
        n, kParametersPerTask, [&](int, size_t begin, size_t end) {
          ApplyAll(rule, grad + begin, param + begin, state(first, begin),
                   state(second, begin), end - begin);
        });
  });
  return n;
}

}  // namespace

Optimizer::Optimizer(const OptimizerConfig& config)
    : impl_(std::make_unique<Impl>()) {
  ValidateOptimizer(config);
  impl_->config = config;
}
Optimizer::~Optimizer() = default;
Optimizer::Optimizer(Optimizer&&) noexcept = default;
Optimizer& Optimizer::operator=(Optimizer&&) noexcept = default;

int64_t Optimizer::steps() const { return impl_->steps; }

namespace {

// Gradients fit a model when they hold every one of its tensors, by name and
// size; equal total counts alone are not enough.
void RequireGradientsFit(const Model& model, const Gradients& gradients) {
  Require(!gradients.parameters().empty(),
          "gradients are empty: fill them with Model::ComputeGradients first");
  for (const std::string& name : model.parameter_names()) {
    const size_t expected = model.parameter(name).size();
    const size_t got = gradients.parameter(name).size();
    Require(got == expected, "gradients do not come from this model: ", name,
            " has ", expected, " values, its gradient ", got);
  }
  Require(gradients.parameters().size() == model.parameters().size(),
          "gradients do not come from this model: it has ",
          model.parameters().size(), " parameters, the gradients ",
          gradients.parameters().size());
}

}  // namespace

void Optimizer::Step(Model* model, const Gradients& gradients) {
  const internal::ScopedPhase phase(internal::Phase::kOptimizerStep);
  Require(model != nullptr, "model must not be null");
  RequireGradientsFit(*model, gradients);
  Span<float> params = model->parameters();
  const size_t n = params.size();
  Require(impl_->first.empty() || impl_->first.size() == n,
          "this optimizer was used with a model of ", impl_->first.size(),
          " parameters; this one has ", n);
  impl_->first.resize(n, 0.0f);
  const OptimizerConfig& c = impl_->config;
  const int64_t step = impl_->steps + 1;
  const float* grads = gradients.parameters().data();
  const internal::Threads& threads = *model->impl_->threads;
  size_t bad;
  if (c.kind == OptimizerConfig::Kind::kSgd) {
    // Without momentum the velocity stays zero: neither read nor written,
    // which saves two of the five arrays the update would stream.
    float* velocity = c.momentum != 0.0f ? impl_->first.data() : nullptr;
    bad = ApplyIfFinite(threads, SgdRule(c, step == 1), grads, params.data(),
                        velocity, nullptr, n);
  } else {
    impl_->second.resize(n, 0.0f);
    bad = ApplyIfFinite(threads, AdamRule(c, step), grads, params.data(),
                        impl_->first.data(), impl_->second.data(), n);
  }
  Require(bad == n, "the optimizer step ", step, " would make parameter ", bad,
          " non-finite (the learning rate is too large for these "
          "gradients); the model and optimizer are unchanged");
  impl_->steps = step;
  model->parameters_changed();
}

// ---- Checkpoint state -------------------------------------------------------

const OptimizerConfig& Optimizer::config() const { return impl_->config; }

OptimizerState Optimizer::state() const {
  return {impl_->steps, impl_->first, impl_->second};
}

void Optimizer::set_state(OptimizerState state) {
  const bool adam = impl_->config.kind == OptimizerConfig::Kind::kAdam;
  Require(state.steps >= 0, "state.steps must be >= 0, got ", state.steps);
  if (state.steps == 0) {
    Require(state.first.empty() && state.second.empty(),
            "state.first and state.second must be empty before the first "
            "step (state.steps = 0), got ",
            state.first.size(), " and ", state.second.size(), " values");
  } else {
    Require(!state.first.empty(), "state.first must hold one value per ",
            "parameter after ", state.steps, " steps, got none");
    Require(
        adam ? state.second.size() == state.first.size() : state.second.empty(),
        "state.second must hold ", adam ? state.first.size() : 0, " values (",
        adam ? "Adam: one per parameter" : "SGD keeps none", "), got ",
        state.second.size());
  }
  for (const std::vector<float>* buffer : {&state.first, &state.second}) {
    Require(std::all_of(buffer->begin(), buffer->end(),
                        [](float v) { return std::isfinite(v); }),
            "the optimizer state holds a non-finite value");
  }
  impl_->steps = state.steps;
  impl_->first = std::move(state.first);
  impl_->second = std::move(state.second);
}

float ClipGradientNorm(Gradients* gradients, float max_norm) {
  Require(gradients != nullptr, "gradients must not be null");
  Require(max_norm > 0.0f && !std::isnan(max_norm),
          "max_norm must be positive, got ", max_norm);
  Span<float> g = gradients->parameters();
  double sum = 0.0;
  for (float v : g) sum += static_cast<double>(v) * v;
  const float norm = static_cast<float>(std::sqrt(sum));
  const float scale = max_norm / (norm + 1e-6f);
  if (scale < 1.0f) {
    for (float& v : g) v *= scale;
  }
  return norm;
}

}  // namespace lstmkit
