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
  const double parameters =
      4 * hidden * (config.input_size + hidden + 2) +
      (config.num_layers - 1.0) * 4 * hidden * (2 * hidden + 2) +
      config.output_size * (hidden + 1);
  Require(parameters <= static_cast<double>(kMaxParameters),
          "the model would have ", static_cast<long double>(parameters),
          " parameters (from config.input_size = ", config.input_size,
          ", config.hidden_size = ", config.hidden_size,
          ", config.num_layers = ", config.num_layers,
          ", config.output_size = ", config.output_size, "); at most ",
          kMaxParameters, " parameters are supported");
  Require(!config.bidirectional,
          "config.bidirectional must be false: bidirectional layers are not "
          "supported in this version");
  Require(config.proj_size == 0,
          "config.proj_size must be 0: projection is not supported in this "
          "version, got ",
          config.proj_size);
  Require(config.dropout == 0.0f,
          "config.dropout must be 0: dropout is not supported in this "
          "version, got ",
          config.dropout);
}

ParameterLayout::ParameterLayout(const ModelConfig& config) : config_(config) {
  ValidateConfig(config);
  const int gates = 4 * config.hidden_size;
  for (int layer = 0; layer < config.num_layers; ++layer) {
    const std::string k = std::to_string(layer);
    LayerOffsets offsets;
    offsets.w_ih = Add("weight_ih_l" + k, {gates, layer_input_size(layer)});
    offsets.w_hh = Add("weight_hh_l" + k, {gates, config.hidden_size});
    offsets.b_ih = Add("bias_ih_l" + k, {gates});
    offsets.b_hh = Add("bias_hh_l" + k, {gates});
    layers_.push_back(offsets);
  }
  if (config.output_size > 0) {
    head_weight_ = Add("head.weight", {config.output_size, config.hidden_size});
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
  return layer == 0 ? config_.input_size : config_.hidden_size;
}

}  // namespace lstmkit::internal
