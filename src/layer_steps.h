// What the forward and backward passes share about one layer: the widths
// of its pieces, and which rows each step's previous state is in.
#ifndef LSTMKIT_SRC_LAYER_STEPS_H_
#define LSTMKIT_SRC_LAYER_STEPS_H_

#include <cstddef>

#include "kernels.h"
#include "model_impl.h"
#include "sequence_layout.h"

namespace lstmkit::internal {

// The widths of one layer's pieces.
struct LayerShape {
  int hidden;  // H
  int state;   // P
  int dirs;    // D
  int in;      // I_k
  bool projected() const { return state != hidden; }
  int out_width() const { return dirs * state; }
};

inline LayerShape ShapeOf(const Model::Impl& model, int layer) {
  const ParameterLayout& layout = *model.layout;
  return {model.config.hidden_size, layout.state_width(), layout.directions(),
          layout.layer_input_size(layer)};
}

// The previous state's rows for step t of a direction, in a buffer of
// [B + R] rows `stride` apart (block 0 holding the initial state). Forward,
// step t continues step t-1's rows. Reverse, step t continues step t+1's
// rows, except for the sequences whose last step is t, which start from
// their initial state.
inline kernels::StateRows PreviousRows(const SequenceLayout& seq,
                                       const float* buffer, int stride, int dir,
                                       int t) {
  const size_t batch = seq.batch();
  if (dir == 0) {
    const size_t prev = t == 0 ? 0 : batch + seq.offset(t - 1);
    return kernels::StateRows::Contiguous(buffer + prev * stride, stride);
  }
  if (t == seq.seq_len() - 1) {
    return kernels::StateRows::Contiguous(buffer, stride);
  }
  return {buffer + (batch + seq.offset(t + 1)) * stride, buffer,
          seq.rows(t + 1), stride};
}

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_LAYER_STEPS_H_
