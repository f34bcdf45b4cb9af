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

  // Offsets of the tensors of one layer, and of the head.
  size_t weight_ih(int layer) const { return layer_offsets(layer).w_ih; }
  size_t weight_hh(int layer) const { return layer_offsets(layer).w_hh; }
  size_t bias_ih(int layer) const { return layer_offsets(layer).b_ih; }
  size_t bias_hh(int layer) const { return layer_offsets(layer).b_hh; }
  size_t head_weight() const { return head_weight_; }
  size_t head_bias() const { return head_bias_; }
  // I_k: the input width of layer k.
  int layer_input_size(int layer) const;

 private:
  struct LayerOffsets {
    size_t w_ih, w_hh, b_ih, b_hh;
  };
  const LayerOffsets& layer_offsets(int layer) const { return layers_[layer]; }
  size_t Add(std::string name, std::vector<int> shape);

  ModelConfig config_;
  std::vector<TensorInfo> tensors_;
  std::vector<LayerOffsets> layers_;
  size_t head_weight_ = 0;
  size_t head_bias_ = 0;
  size_t total_size_ = 0;
};

// Throws lstmkit::Error naming the first field that is out of range.
void ValidateConfig(const ModelConfig& config);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_PARAMETER_LAYOUT_H_
