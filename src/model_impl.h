// The state behind the public Model and Gradients handles.
#ifndef LSTMKIT_SRC_MODEL_IMPL_H_
#define LSTMKIT_SRC_MODEL_IMPL_H_

#include <memory>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "packed_weights.h"
#include "parallel_gemm.h"
#include "parameter_layout.h"
#include "threads.h"

namespace lstmkit {

struct Model::Impl {
  ModelConfig config;
  std::shared_ptr<const internal::ParameterLayout> layout;
  kernels::LineAlignedVector<float> params;  // flat, in layout order
  internal::PackedWeights packed;            // derived from params
  // Shared by copies of the model; an arena may be entered from many
  // threads at once.
  std::shared_ptr<const internal::Threads> threads;
  int requested_threads = 0;
  WeightPrecision precision = WeightPrecision::kF32;

  const float* param(size_t offset) const { return params.data() + offset; }
  internal::GemmContext gemm() const {
    return {threads.get(), packed.kernels, &packed.tuning};
  }
};

struct Gradients::Impl {
  std::shared_ptr<const internal::ParameterLayout> layout;
  // Flat, in layout order. On a cache line, so that a weight-gradient
  // tile writes whole lines of each row rather than parts of two (a
  // std::vector's large blocks start 16 bytes past a line).
  kernels::AlignedArray<float> params;
};

}  // namespace lstmkit

#endif  // LSTMKIT_SRC_MODEL_IMPL_H_
