// The state behind the public Model and Gradients handles.
#ifndef LSTMKIT_SRC_MODEL_IMPL_H_
#define LSTMKIT_SRC_MODEL_IMPL_H_

#include <memory>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "packed_weights.h"
#include "parameter_layout.h"

namespace lstmkit {

struct Model::Impl {
  ModelConfig config;
  std::shared_ptr<const internal::ParameterLayout> layout;
  std::vector<float> params;       // flat, in layout order
  internal::PackedWeights packed;  // derived from params
  int threads = 0;                 // 0 = all cores

  const float* param(size_t offset) const { return params.data() + offset; }
};

struct Gradients::Impl {
  std::shared_ptr<const internal::ParameterLayout> layout;
  std::vector<float> params;  // flat, in layout order
};

}  // namespace lstmkit

#endif  // LSTMKIT_SRC_MODEL_IMPL_H_
