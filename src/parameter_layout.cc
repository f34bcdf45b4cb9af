#include "parameter_layout.h"

#include <cmath>
#include <limits>

#include "check.h"

namespace lstmkit::internal {

namespace {
// Keeps every product of sizes that the library forms well inside int64 and
// every single dimension inside int.
constexpr int kMaxDimension = 1 << 20;
// 2^31 floats is 8 GiB of parameters, more again for packed copies and
// optimizer state: far beyond any model that trains on a CPU.
constexpr long long kMaxParameters = 1LL << 31;

void RequireDimension(const char* name, int value, int min_value) {
  Require(value >= min_value && value <= kMaxDimension, name, " must be in [",
          min_value, ", ", kMaxDimension, "], got ", value);
}
}  // namespace

void ValidateConfig(const ModelConfig& config) {
  RequireDimension("config.input_size", config.input_size, 1);
  RequireDimension("config.hidden_size", config.hidden_size, 1);
  RequireDimension("config.num_layers", config.num_layers, 1);
  RequireDimension("config.output_size", config.output_size, 0);
  Require(config.output_activation == OutputActivation::kIdentity ||
              config.output_activation == OutputActivation::kSoftmax,
          "config.output_activation must be kIdentity or kSoftmax");
  Require(config.output_steps == OutputSteps::kEveryStep ||
              config.output_steps == OutputSteps::kLastStep,
          "config.output_steps must be kEveryStep or kLastStep");
  Require(config.output_activation == OutputActivation::kIdentity ||
              config.output_size > 0,
          "config.output_activation = kSoftmax needs a head: "
          "config.output_size must be positive, got ",
          config.output_size);
  // Counted in double: at the dimension limits the count exceeds int64.
  const double hidden = config.hidden_size;
  const double dirs = config.bidirectional ? 2 : 1;
  const double state = config.proj_size > 0 ? config.proj_size : hidden;
  const double per_direction_rest =
      4 * hidden * (state + 2) + (config.proj_size > 0 ? state * hidden : 0);
  const double parameters =
      dirs * (4 * hidden * config.input_size + per_direction_rest) +
      (config.num_layers - 1.0) * dirs *
          (4 * hidden * dirs * state + per_direction_rest) +
      config.output_size * (dirs * state + 1);
  Require(parameters <= static_cast<double>(kMaxParameters),
          "the model would have ", static_cast<long double>(parameters),
          " parameters (from config.input_size = ", config.input_size,
          ", config.hidden_size = ", config.hidden_size,
          ", config.num_layers = ", config.num_layers,
          ", config.output_size = ", config.output_size, "); at most ",
          kMaxParameters, " parameters are supported");
  Require(config.proj_size >= 0 && config.proj_size < config.hidden_size,
          "config.proj_size must be in [0, config.hidden_size = ",
          config.hidden_size, ") (0 = no projection), got ", config.proj_size);
  Require(config.dropout >= 0.0f && config.dropout < 1.0f,
          "config.dropout must be in [0, 1), got ", config.dropout);
}

// PyTorch's order: per layer, per direction: weight_ih, weight_hh, bias_ih,
// bias_hh, weight_hr; the reverse direction's names end in "_reverse".
ParameterLayout::ParameterLayout(const ModelConfig& config) : config_(config) {
  ValidateConfig(config);
  directions_ = config.bidirectional ? 2 : 1;
  state_width_ = config.proj_size > 0 ? config.proj_size : config.hidden_size;
  const int gates = 4 * config.hidden_size;
  for (int layer = 0; layer < config.num_layers; ++layer) {
    for (int dir = 0; dir < directions_; ++dir) {
      const std::string k =
          std::to_string(layer) + (dir == 1 ? "_reverse" : "");
      DirectionOffsets offsets{};
      offsets.w_ih = Add("weight_ih_l" + k, {gates, layer_input_size(layer)});
      offsets.w_hh = Add("weight_hh_l" + k, {gates, state_width_});
      offsets.b_ih = Add("bias_ih_l" + k, {gates});
      offsets.b_hh = Add("bias_hh_l" + k, {gates});
      if (config.proj_size > 0) {
        offsets.w_hr =
            Add("weight_hr_l" + k, {config.proj_size, config.hidden_size});
      }
      offsets_.push_back(offsets);
    }
  }
  if (config.output_size > 0) {
    head_weight_ =
        Add("head.weight", {config.output_size, layer_output_size()});
    head_bias_ = Add("head.bias", {config.output_size});
  }
}

size_t ParameterLayout::Add(std::string name, std::vector<int> shape) {
  TensorInfo info;
  info.name = std::move(name);
  info.offset = total_size_;
  info.size = 1;
  for (int d : shape) info.size *= static_cast<size_t>(d);
  info.shape = std::move(shape);
  total_size_ += info.size;
  tensors_.push_back(std::move(info));
  return tensors_.back().offset;
}

const TensorInfo& ParameterLayout::Find(const std::string& name) const {
  for (const TensorInfo& t : tensors_) {
    if (t.name == name) return t;
  }
  std::string valid;
  for (const TensorInfo& t : tensors_) {
    valid += (valid.empty() ? "" : ", ") + t.name;
  }
  Fail("no parameter named '", name, "'; this model has: ", valid);
}

int ParameterLayout::layer_input_size(int layer) const {
  return layer == 0 ? config_.input_size : layer_output_size();
}

}  // namespace lstmkit::internal
