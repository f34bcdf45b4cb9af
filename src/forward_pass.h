// The production forward pass: per layer, one GEMM for the input projection
// of every step, then per step the recurrent GEMM and the fused gate tail.
#ifndef LSTMKIT_SRC_FORWARD_PASS_H_
#define LSTMKIT_SRC_FORWARD_PASS_H_

#include <vector>

#include "model_impl.h"
#include "sequence_layout.h"

namespace lstmkit::internal {

// What backward needs from one layer, in the packed row order of a
// SequenceLayout (R = total_rows; the plain layout has R = T * B).
struct LayerTrace {
  // [R][gate columns]: activations, gate-interleaved (GateLayout).
  std::vector<float> gates;
  std::vector<float> c;       // [B + R][H]: c0 (sorted rows), then each step
  std::vector<float> h;       // [B + R][H]: h0 (sorted rows), then each step
  std::vector<float> tanh_c;  // [R][H]
};

struct ForwardTrace {
  SequenceLayout layout;
  // The input in packed order when the layout is not plain.
  std::vector<float> packed_x;
  // Every layer for training; for inference two, used in turn.
  std::vector<LayerTrace> layers;
  int top = 0;             // index of the top layer's trace
  std::vector<float> h_n;  // [L][B][H], the caller's order
  std::vector<float> c_n;  // [L][B][H]
  // The head's input rows when they are not a block of the top layer's h:
  // each sequence's last step, sorted order.
  std::vector<float> head_input;
  std::vector<float> output;  // head pre-activation (logits), or h rows
  int output_rows = 0;        // R (every step) or B (last step, sorted)
};

// Validates input against the model (throws lstmkit::Error).
void ValidateInput(const Model::Impl& model, const Input& input);

// Runs every layer and the head; `output` is left before the softmax.
// Training keeps every layer's trace for backward; inference keeps two.
void RunForward(const Model::Impl& model, const Input& input, bool training,
                ForwardTrace* trace);

// The top layer's h rows that feed the head, output_rows of them.
const float* HeadInputRows(const Model::Impl& model, const ForwardTrace& trace);

// Softmax over each row of [rows][width], in place.
void SoftmaxRows(int rows, int width, float* values);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_FORWARD_PASS_H_
