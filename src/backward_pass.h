// The production backward pass. It mirrors forward: only the cell backward
// and the recurrent product W_hh^T da stay inside the time loop; the weight
// gradients and the gradient for the layer below are one GEMM each over all
// steps.
#ifndef LSTMKIT_SRC_BACKWARD_PASS_H_
#define LSTMKIT_SRC_BACKWARD_PASS_H_

#include <vector>

#include "forward_pass.h"
#include "kernels.h"
#include "layer_steps.h"
#include "model_impl.h"
#include "sequence_layout.h"

namespace lstmkit::internal {

// Gradients of one direction while walking its steps backward.
struct DirectionWork {
  kernels::LineAlignedVector<float> d_gates;  // [R][gate columns]
  std::vector<float> dh_recurrent;  // [B][P], dL/dh_prev of the last step
  std::vector<float> dc_carry;      // [B][H]
  std::vector<float> dh_total;      // [R][P], projection only: dL/dh
  std::vector<float> dr;            // [B][H], projection only: dL/dr
  std::vector<float> d_h0;          // [B][P], sorted
  std::vector<float> d_c0;          // [B][H], sorted

  // Sizes every buffer for one layer and zeroes all but d_gates, which
  // every step writes whole before anything reads it.
  void Reset(const LayerShape& shape, const SequenceLayout& seq,
             int gate_width);
};

// What a backward pass writes besides the gradients, kept from one call to
// the next by the caller so that it is not allocated and zeroed each time.
struct BackwardBuffers {
  kernels::LineAlignedVector<float> d_out;    // dL/d(layer output)
  kernels::LineAlignedVector<float> d_below;  // dL/d(layer input)
  DirectionWork dirs[2];
  // The bias gradient in gate-interleaved order, before it is scattered to
  // the parameters' order.
  std::vector<float> bias_columns;
  // For each PyTorch gate row, its gate-interleaved column: the weight
  // gradients' products read dA's columns in this order and so write the
  // parameters' rows directly.
  std::vector<int> gate_columns;
  std::vector<float> previous_states;  // h_{t-1} gathered for dW_hh
  // X and h_{t-1} packed for the weight gradients' products when they run
  // on more than one thread (one thread packs block by block), kept
  // between calls so that their pages are not faulted in again every step.
  kernels::PackedB packed_inputs;
  kernels::PackedB packed_states;
};

// d_output = dL/d(output) for trace.output (the head's pre-activation, or the
// top layer's h rows without a head). Overwrites every gradient; without
// options.input, gradients->x is emptied and not computed.
void RunBackward(const Model::Impl& model, const Input& input,
                 const ForwardTrace& trace, const float* d_output,
                 const GradientOptions& options, BackwardBuffers* buffers,
                 Gradients* gradients);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_BACKWARD_PASS_H_
