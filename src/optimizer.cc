#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "check.h"
#include "model_impl.h"

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

// torch.optim.SGD: the first step sets the buffer to g.
void SgdStep(const OptimizerConfig& c, bool first_step, const float* grad,
             float* param, float* velocity, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    float g = grad[i] + c.weight_decay * param[i];
    if (c.momentum != 0.0f) {
      velocity[i] = first_step ? g : c.momentum * velocity[i] + g;
      g = velocity[i];
    }
    param[i] -= c.learning_rate * g;
  }
}

// torch.optim.Adam with bias correction, epsilon added after the square root.
void AdamStep(const OptimizerConfig& c, int64_t step, const float* grad,
              float* param, float* m, float* v, size_t n) {
  const double correction1 = 1.0 - std::pow(double{c.beta1}, double(step));
  const double correction2 = 1.0 - std::pow(double{c.beta2}, double(step));
  const float step_size = static_cast<float>(c.learning_rate / correction1);
  const float root_correction2 = static_cast<float>(std::sqrt(correction2));
  for (size_t i = 0; i < n; ++i) {
    const float g = grad[i] + c.weight_decay * param[i];
    m[i] = c.beta1 * m[i] + (1.0f - c.beta1) * g;
    v[i] = c.beta2 * v[i] + (1.0f - c.beta2) * g * g;
    const float denom = std::sqrt(v[i]) / root_correction2 + c.epsilon;
    param[i] -= step_size * m[i] / denom;
  }
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
  Require(model != nullptr, "model must not be null");
  RequireGradientsFit(*model, gradients);
  Span<float> params = model->parameters();
  const size_t n = params.size();
  Require(impl_->first.empty() || impl_->first.size() == n,
          "this optimizer was used with a model of ", impl_->first.size(),
          " parameters; this one has ", n);
  // The update goes to copies first, so that an update that overflows
  // leaves the model and the optimizer's state as they were.
  std::vector<float> next(params.begin(), params.end());
  std::vector<float> first = impl_->first;
  std::vector<float> second = impl_->second;
  first.resize(n, 0.0f);
  const OptimizerConfig& c = impl_->config;
  const int64_t step = impl_->steps + 1;
  if (c.kind == OptimizerConfig::Kind::kSgd) {
    SgdStep(c, step == 1, gradients.parameters().data(), next.data(),
            first.data(), n);
  } else {
    second.resize(n, 0.0f);
    AdamStep(c, step, gradients.parameters().data(), next.data(), first.data(),
             second.data(), n);
  }
  for (size_t i = 0; i < n; ++i) {
    Require(std::isfinite(next[i]), "the optimizer step ", step,
            " would make parameter ", i,
            " non-finite (the learning rate is too large for these "
            "gradients); the model and optimizer are unchanged");
  }
  std::copy(next.begin(), next.end(), params.begin());
  impl_->first = std::move(first);
  impl_->second = std::move(second);
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
