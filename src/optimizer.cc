#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "check.h"
#include "denormals.h"
#include "kernels.h"
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

// torch.optim.SGD: the first step sets the velocity to g.
kernels::UpdateRule SgdRule(const OptimizerConfig& c, bool first_step) {
  kernels::UpdateRule r;
  r.learning_rate = c.learning_rate;
  r.weight_decay = c.weight_decay;
  r.momentum = c.momentum;
  r.first_step = first_step;
  return r;
}

// torch.optim.Adam with bias correction, epsilon added after the square
// root; the corrections in double, once per step.
kernels::UpdateRule AdamRule(const OptimizerConfig& c, int64_t step) {
  kernels::UpdateRule r;
  r.adam = true;
  r.learning_rate = c.learning_rate;
  r.weight_decay = c.weight_decay;
  r.beta1 = c.beta1;
  r.beta2 = c.beta2;
  r.epsilon = c.epsilon;
  const double correction1 = 1.0 - std::pow(double{c.beta1}, double(step));
  const double correction2 = 1.0 - std::pow(double{c.beta2}, double(step));
  r.step_size = static_cast<float>(c.learning_rate / correction1);
  r.root_correction2 = static_cast<float>(std::sqrt(correction2));
  return r;
}

// The index of the first parameter in [0, n) that `rule` would make
// non-finite, or n. Only a failing step looks for it, so scalar.
size_t FirstNonFinite(const kernels::UpdateRule& rule, const float* grad,
                      const float* param, const float* first,
                      const float* second, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float p =
        kernels::UpdateOne(rule, grad[i], param[i], first ? first[i] : 0.0f,
                           second ? second[i] : 0.0f)
            .param;
    if (!std::isfinite(p)) return i;
  }
  return n;
}

// Parameters per task: the update streams a few arrays once, so a task
// only has to be large enough to amortise handing it out.
constexpr size_t kParametersPerTask = size_t{1} << 15;

// Applies `rule` to every parameter unless one would become non-finite
// (then nothing is written and that parameter's index is returned; n
// otherwise): a first pass only checks, so that an overflowing step leaves
// the model and the state untouched, and a second writes. Tasks are fixed
// ranges of parameters, each updated on its own, so the result is the same
// for any thread count; denormals are flushed on every thread, the calling
// one included, for the same reason.
size_t ApplyIfFinite(const internal::Threads& threads,
                     const kernels::KernelTable& kt,
                     const kernels::UpdateRule& rule, const float* grad,
                     float* param, float* first, float* second, size_t n) {
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
          const size_t count = end - begin;
          if (kt.update_is_finite(rule, grad + begin, param + begin,
                                  state(first, begin), state(second, begin),
                                  count)) {
            return;
          }
          bad[task] = begin + FirstNonFinite(rule, grad + begin, param + begin,
                                             state(first, begin),
                                             state(second, begin), count);
        });
  });
  const size_t first_bad =
      bad.empty() ? n : *std::min_element(bad.begin(), bad.end());
  if (first_bad < n) return first_bad;
  threads.Run([&] {
    threads.ForRanges(n, kParametersPerTask,
                      [&](int, size_t begin, size_t end) {
                        kt.apply_update(rule, grad + begin, param + begin,
                                        state(first, begin),
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
  const kernels::KernelTable& kt = *model->impl_->packed.kernels;
  size_t bad;
  if (c.kind == OptimizerConfig::Kind::kSgd) {
    // Without momentum the velocity stays zero: neither read nor written,
    // which saves two of the five arrays the update would stream.
    float* velocity = c.momentum != 0.0f ? impl_->first.data() : nullptr;
    bad = ApplyIfFinite(threads, kt, SgdRule(c, step == 1), grads,
                        params.data(), velocity, nullptr, n);
  } else {
    impl_->second.resize(n, 0.0f);
    bad = ApplyIfFinite(threads, kt, AdamRule(c, step), grads, params.data(),
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
