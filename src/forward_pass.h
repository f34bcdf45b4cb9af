// The production forward pass: per layer, one GEMM for the input projection
// of every step, then per step the recurrent GEMM and the fused gate tail.
#ifndef LSTMKIT_SRC_FORWARD_PASS_H_
#define LSTMKIT_SRC_FORWARD_PASS_H_

#include <vector>

#include "model_impl.h"

namespace lstmkit::internal {

// What backward needs from one layer.
struct LayerTrace {
  // [T][B][gate columns]: activations, gate-interleaved (GateLayout).
  std::vector<float> gates;
  std::vector<float> c;       // [T+1][B][H], c[0] = c0
  std::vector<float> h;       // [T+1][B][H], h[0] = h0
  std::vector<float> tanh_c;  // [T][B][H]
};

struct ForwardTrace {
  int seq_len = 0;
  int batch = 0;
  // Every layer for training; for inference two, used in turn.
  std::vector<LayerTrace> layers;
  int top = 0;                // index of the top layer's trace
  std::vector<float> h_n;     // [L][B][H]
  std::vector<float> c_n;     // [L][B][H]
  std::vector<float> output;  // head pre-activation (logits), or copy of h
  int output_rows = 0;        // T*B (every step) or B (last step)
};

// Validates input against the model (throws lstmkit::Error).
void ValidateInput(const Model::Impl& model, const Input& input);

// Runs every layer and the head; `output` is left before the softmax.
// Training keeps every layer's trace for backward; inference keeps two.
void RunForward(const Model::Impl& model, const Input& input, bool training,
                ForwardTrace* trace);

// The top layer's h rows that feed the head: every step or the last one.
const float* HeadInputRows(const Model::Impl& model, const ForwardTrace& trace);

// Softmax over each row of [rows][width], in place.
void SoftmaxRows(int rows, int width, float* values);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_FORWARD_PASS_H_
