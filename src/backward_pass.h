// The production backward pass. It mirrors forward: only the cell backward
// and the recurrent product W_hh^T da stay inside the time loop; the weight
// gradients and the gradient for the layer below are one GEMM each over all
// steps.
#ifndef LSTMKIT_SRC_BACKWARD_PASS_H_
#define LSTMKIT_SRC_BACKWARD_PASS_H_

#include "forward_pass.h"
#include "model_impl.h"

namespace lstmkit::internal {

// d_output = dL/d(output) for trace.output (the head's pre-activation, or the
// top layer's h rows without a head). Overwrites every gradient.
void RunBackward(const Model::Impl& model, const Input& input,
                 const ForwardTrace& trace, const float* d_output,
                 Gradients* gradients);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_BACKWARD_PASS_H_
