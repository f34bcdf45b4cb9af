// What the forward and backward passes share about one layer: the widths
// of its pieces, and which rows each step's previous state is in.
#ifndef LSTMKIT_SRC_LAYER_STEPS_H_
#define LSTMKIT_SRC_LAYER_STEPS_H_

#include <algorithm>
#include <cstddef>

#include "kernels.h"
#include "model_impl.h"
#include "sequence_layout.h"
#include "step_team.h"
#include "threads.h"

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

// The previous state's rows for step t of a direction: the initial
// state's B rows at `initial`, the steps' R rows at `steps`, each row
// `stride` apart. Forward, step t continues step t-1's rows. Reverse, step
// t continues step t+1's rows, except for the sequences whose last step is
// t, which start from their initial state.
inline kernels::StateRows PreviousRows(const SequenceLayout& seq,
                                       const float* initial, const float* steps,
                                       int stride, int dir, int t) {
  if (dir == 0) {
    if (t == 0) return kernels::StateRows::Contiguous(initial, stride);
    return kernels::StateRows::Contiguous(steps + seq.offset(t - 1) * stride,
                                          stride);
  }
  if (t == seq.seq_len() - 1) {
    return kernels::StateRows::Contiguous(initial, stride);
  }
  return {steps + seq.offset(t + 1) * stride, initial, seq.rows(t + 1), stride};
}

// The same for a buffer of [B + R] rows, block 0 holding the initial state.
inline kernels::StateRows PreviousRows(const SequenceLayout& seq,
                                       const float* buffer, int stride, int dir,
                                       int t) {
  const size_t batch = seq.batch();
  return PreviousRows(seq, buffer, buffer + batch * stride, stride, dir, t);
}

// The rows of the previous state from row `skip` on.
inline kernels::StateRows SkipRows(kernels::StateRows rows, int skip) {
  const ptrdiff_t offset = static_cast<ptrdiff_t>(skip) * rows.stride;
  rows.first += offset;
  if (rows.rest != nullptr) rows.rest += offset;
  rows.split -= skip;
  return rows;
}

// A block of batch rows (sorted order), [first, end), and which of them a
// step computes: with variable lengths, step t has only seq.rows(t) rows.
struct RowBlock {
  int first = 0;
  int end = 0;

  static RowBlock All(const SequenceLayout& seq) { return {0, seq.batch()}; }
  static RowBlock Part(const SequenceLayout& seq, int parts, int part) {
    const auto [first, count] = SlicePanels(seq.batch(), parts, part);
    return {first, first + count};
  }
  int ActiveAt(const SequenceLayout& seq, int t) const {
    return std::max(0, std::min(end, seq.rows(t)) - first);
  }
};

// A layer's time loop keeps every batch row apart from every other, so
// blocks of rows can each walk all the steps alone, with no barrier
// between steps: a late thread delays only its own block. Below this many
// rows a block reuses each weight too little, and the team splits every
// step over hidden units instead.
constexpr int kMinRowsPerBlock = 16;

// Row blocks per direction for a time loop, or 0 to split each step over
// hidden units. One block per thread: two per thread, so that a thread that
// falls behind could hand one over, measured no faster at batch 64 (each
// block reuses every weight fewer times).
inline int IndependentRowBlocks(const Threads& threads, int batch, int dirs) {
  const int per_dir = (threads.requested() + dirs - 1) / dirs;
  if (per_dir == 1) return 1;
  if (batch < per_dir * kMinRowsPerBlock) return 0;
  return std::min(per_dir, StepTeam::kMaxSlices / dirs);
}

// Runs step(dir, t, rows) for every step t of every direction, each of
// `blocks` row blocks per direction walking its steps alone. Time runs
// forward in direction 0 and in reverse in direction 1, or the other way
// round for the backward pass.
template <typename Step>
void WalkRowBlocks(const Threads& threads, const SequenceLayout& seq, int dirs,
                   int blocks, bool backward, const Step& step) {
  const int seq_len = seq.seq_len();
  StepTeam::Run(threads, 1, blocks * dirs, [&](int, int slice) {
    const int dir = slice / blocks;
    const RowBlock rows = RowBlock::Part(seq, blocks, slice % blocks);
    const bool reversed = (dir == 1) != backward;
    for (int i = 0; i < seq_len; ++i) {
      step(dir, reversed ? seq_len - 1 - i : i, rows);
    }
  });
}

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_LAYER_STEPS_H_
