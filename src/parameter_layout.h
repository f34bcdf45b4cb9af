// Where each named parameter tensor lives in the model's flat parameter
// vector. Order and names follow PyTorch's nn.LSTM state_dict, then the head.
#ifndef LSTMKIT_SRC_PARAMETER_LAYOUT_H_
#define LSTMKIT_SRC_PARAMETER_LAYOUT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::internal {

struct TensorInfo {
  std::string name;
  std::vector<int> shape;  // [rows, cols] for matrices, [n] for vectors
  size_t offset = 0;       // in floats, into the flat parameter vector
  size_t size = 0;         // number of floats
};

class ParameterLayout {
 public:
  // Validates the config (throws lstmkit::Error) and lays out its tensors.
  explicit ParameterLayout(const ModelConfig& config);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  size_t total_size() const { return total_size_; }
  // Throws lstmkit::Error listing the valid names when `name` is unknown.
  const TensorInfo& Find(const std::string& name) const;

  // Offsets of the tensors of one direction (0 forward, 1 reverse) of a
  // layer, and of the head. weight_hr exists only with a projection.
  size_t weight_ih(int layer, int dir = 0) const { return at(layer, dir).w_ih; }
  size_t weight_hh(int layer, int dir = 0) const { return at(layer, dir).w_hh; }
  size_t bias_ih(int layer, int dir = 0) const { return at(layer, dir).b_ih; }
  size_t bias_hh(int layer, int dir = 0) const { return at(layer, dir).b_hh; }
  size_t weight_hr(int layer, int dir = 0) const { return at(layer, dir).w_hr; }
  size_t head_weight() const { return head_weight_; }
  size_t head_bias() const { return head_bias_; }

  int directions() const { return directions_; }  // D: 1, or 2 if bidirectional
  // P: the width of one direction's h (proj_size, or H without projection).
  int state_width() const { return state_width_; }
  // D * P: the width of a layer's output.
  int layer_output_size() const { return directions_ * state_width_; }
  // I_k: the input width of layer k (I, then D * P).
  int layer_input_size(int layer) const;

 private:
  struct DirectionOffsets {
    size_t w_ih, w_hh, b_ih, b_hh, w_hr;
  };
  const DirectionOffsets& at(int layer, int dir) const {
    return offsets_[layer * directions_ + dir];
  }
  size_t Add(std::string name, std::vector<int> shape);

  ModelConfig config_;
  int directions_ = 1;
  int state_width_ = 0;
  std::vector<TensorInfo> tensors_;
  std::vector<DirectionOffsets> offsets_;  // [L][D]
  size_t head_weight_ = 0;
  size_t head_bias_ = 0;
  size_t total_size_ = 0;
};

// Throws lstmkit::Error naming the first field that is out of range.
void ValidateConfig(const ModelConfig& config);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_PARAMETER_LAYOUT_H_
