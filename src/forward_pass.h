// The production forward pass: per layer and direction, one GEMM for the
// input projection of every step, then per step the recurrent GEMM fused
// with the gate tail (and, with a projection, h = W_hr r).
#ifndef LSTMKIT_SRC_FORWARD_PASS_H_
#define LSTMKIT_SRC_FORWARD_PASS_H_

#include <cstdint>
#include <vector>

#include "model_impl.h"
#include "sequence_layout.h"

namespace lstmkit::internal {

// What backward needs from one direction of one layer, in the packed row
// order of a SequenceLayout (R = total_rows; the plain layout has R = T B).
struct DirectionTrace {
  // [R][gate columns]: activations, gate-interleaved (GateLayout).
  kernels::LineAlignedVector<float> gates;
  // [B + R][H]: c0 (sorted rows), then each step
  kernels::LineAlignedVector<float> c;
  kernels::LineAlignedVector<float> tanh_c;  // [R][H]
  // With a projection: r = o * tanh(c), the cell's output before W_hr, [R][H].
  kernels::LineAlignedVector<float> r;
};

struct LayerTrace {
  // [B + R][D * P]: h0 of each direction in its columns (sorted rows), then
  // each step's h, the forward direction's columns first.
  kernels::LineAlignedVector<float> out;
  // Where the steps' h rows are, [R][D * P]: out after block 0, or the
  // caller's output for the top layer of an inference call.
  float* steps = nullptr;
  DirectionTrace dirs[2];
  // With dropout while training: this layer's input after the mask, [R][I].
  std::vector<float> dropped_input;
};

struct ForwardTrace {
  SequenceLayout layout;
  // The input in packed order when the layout is not plain.
  std::vector<float> packed_x;
  // Every layer for training; for inference two, used in turn.
  std::vector<LayerTrace> layers;
  int top = 0;             // index of the top layer's trace
  std::vector<float> h_n;  // [L * D][B][P], the caller's order
  std::vector<float> c_n;  // [L * D][B][H]
  // The head's input rows when they are not a block of the top layer's
  // output: each sequence's last step, sorted order.
  std::vector<float> head_input;
  std::vector<float> output;  // the head's pre-activation (logits)
  int output_rows = 0;        // R (every step) or B (last step, sorted)
  // The output rows, [output_rows][width]: `output`, or without a head the
  // top layer's rows themselves, which are not copied.
  const float* output_data = nullptr;
  size_t output_size = 0;
  bool training = false;
  uint64_t dropout_seed = 0;
};

// Validates input against the model (throws lstmkit::Error).
void ValidateInput(const Model::Impl& model, const Input& input);

// Runs every layer and the head; `output` is left before the softmax.
// Training keeps every layer's trace for backward, and applies dropout;
// inference keeps two layers' traces. Where `top_steps` is given (inference
// only), the top layer writes its step rows, [R][D * P], there rather than
// into its trace.
void RunForward(const Model::Impl& model, const Input& input, bool training,
                ForwardTrace* trace, float* top_steps = nullptr);

// The top layer's output rows that feed the head, output_rows of them.
const float* HeadInputRows(const Model::Impl& model, const ForwardTrace& trace);

// The scale dropout applies to one value: 0 (dropped) or 1 / (1 - p). A
// pure function of its arguments, so that masks do not depend on threads
// or on how the batch is ordered inside the library.
float DropoutScale(uint64_t seed, int layer, int step, int sequence, int unit,
                   float p);

// Softmax over each row of [rows][width], in place.
void SoftmaxRows(int rows, int width, float* values);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_FORWARD_PASS_H_
