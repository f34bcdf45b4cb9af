#include "backward_pass.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "kernels.h"
#include "layer_steps.h"
#include "parallel_gemm.h"
#include "phase_profile.h"
#include "sequence_layout.h"
#include "step_team.h"

namespace lstmkit::internal {

namespace {

// Rows of `block` at step t of a reverse direction that started there from
// their initial state: [rows(t + 1), rows(t)) within the block.
std::pair<int, int> StartingRows(const SequenceLayout& seq, int t,
                                 RowBlock block) {
  const int later = t + 1 < seq.seq_len() ? seq.rows(t + 1) : 0;
  return {std::max(later, block.first), std::min(seq.rows(t), block.end)};
}

// The head's share: its parameter gradients, and dL/d(input row).
void ComputeHeadRows(const Model::Impl& model, const ForwardTrace& trace,
                     const float* d_output, float* d_params, float* d_rows) {
  const ModelConfig& config = model.config;
  const int width = model.layout->layer_output_size();
  const int rows = trace.output_rows;
  if (config.output_size == 0) {
    std::copy_n(d_output, static_cast<size_t>(rows) * width, d_rows);
    return;
  }
  const int out = config.output_size;
  const ParameterLayout& layout = *model.layout;
  const GemmContext ctx = model.gemm();
  // dW_head = dY^T H_rows; dH_rows = dY W_head.
  ParallelGemm(ctx, out, width, rows, {d_output, 1, out},
               {HeadInputRows(model, trace), width, 1}, 0.0f,
               d_params + layout.head_weight(), width);
  ParallelColumnSums(ctx, rows, out, d_output, out,
                     d_params + layout.head_bias());
  ParallelGemmPacked(ctx, rows, width, out, {d_output, out, 1},
                     model.packed.head_rows, 0.0f, d_rows, width);
}

// Turns dL/d(output) into dL/d(top layer's output) for every packed row,
// [R][D * P].
void HeadBackward(const Model::Impl& model, const ForwardTrace& trace,
                  const float* d_output, float* d_params, float* d_top) {
  const int width = model.layout->layer_output_size();
  const SequenceLayout& seq = trace.layout;
  const bool last_only = model.config.output_steps == OutputSteps::kLastStep;
  // Every step: the head's rows are d_top's rows. Last step: they are one
  // row per sequence, computed apart and scattered to each last step.
  std::vector<float> last_rows;
  float* d_rows = d_top;
  if (last_only) {
    std::fill_n(d_top, seq.total_rows() * width, 0.0f);
    last_rows.resize(static_cast<size_t>(trace.output_rows) * width);
    d_rows = last_rows.data();
  }
  ComputeHeadRows(model, trace, d_output, d_params, d_rows);
  for (int i = 0; last_only && i < seq.batch(); ++i) {
    std::copy_n(d_rows + static_cast<size_t>(i) * width, width,
                d_top + seq.last_row(i) * width);
  }
}

// Copies rows [first, end) of columns [col, col + cols) of src (stride
// `stride`) into dst (same layout).
void CopyBlock(const float* src, float* dst, int stride, int first, int end,
               int col, int cols) {
  for (int i = first; i < end; ++i) {
    const size_t at = static_cast<size_t>(i) * stride + col;
    std::copy_n(src + at, cols, dst + at);
  }
}

// The context of one layer's backward pass.
struct LayerBackward {
  const Model::Impl& model;
  const LayerShape shape;
  const int layer;
  const SequenceLayout& seq;
  const LayerTrace& trace;
  const float* d_out;  // dL/d(layer output), [R][D * P]
  DirectionWork* work[2];

  int panel_width() const {
    return kernels::kPanelVectors * model.packed.kernels->lanes;
  }

  // dh_total = dL/dh of the step's rows in `block`: from above plus from
  // step t's successor; columns [first, first + count) panels of P.
  void SumStateGradient(int dir, int t, RowBlock block, int first,
                        int count) const {
    DirectionWork& w = *work[dir];
    const int begin = first * panel_width();
    const int end = std::min(shape.state, (first + count) * panel_width());
    const size_t here = seq.offset(t);
    for (int i = block.first; i < block.first + block.ActiveAt(seq, t); ++i) {
      const float* above =
          d_out + (here + i) * shape.out_width() + dir * shape.state;
      const float* rec =
          w.dh_recurrent.data() + static_cast<size_t>(i) * shape.state;
      float* total = w.dh_total.data() + (here + i) * shape.state;
      for (int j = begin; j < end; ++j) total[j] = above[j] + rec[j];
    }
  }

  // dr = dh_total W_hr for H columns in panels [first, first + count), in
  // rows `block`.
  void ProjectBack(int dir, int t, RowBlock block, int first, int count) const {
    DirectionWork& w = *work[dir];
    const kernels::PackedPanels w_hr =
        model.packed.layer(layer, dir).w_hr_rows.Panels(first, count);
    const int rows = block.ActiveAt(seq, t);
    if (w_hr.n <= 0 || rows == 0) return;
    const size_t here = seq.offset(t) + block.first;
    model.packed.kernels->gemm_packed(
        rows, w_hr.n, shape.state,
        {w.dh_total.data() + here * shape.state, shape.state, 1}, w_hr, 0.0f,
        w.dr.data() + static_cast<size_t>(block.first) * shape.hidden +
            first * w_hr.panel_width,
        shape.hidden, model.packed.tuning.gemm_packed);
  }

  // The cell backward for gate panels [first, first + count), in rows
  // `block`.
  void CellBackward(int dir, int t, RowBlock block, int first,
                    int count) const {
    const int rows = block.ActiveAt(seq, t);
    if (rows == 0) return;
    DirectionWork& w = *work[dir];
    const DirectionTrace& d = trace.dirs[dir];
    const int gate_width = model.packed.gates.width();
    const size_t skip = block.first;
    const size_t here = seq.offset(t) + skip;
    kernels::LstmCellBackwardArgs cell;
    cell.batch = rows;
    cell.hidden = shape.hidden;
    cell.gates = d.gates.data() + here * gate_width;
    cell.gate_stride = gate_width;
    cell.c_prev = SkipRows(PreviousRows(seq, d.c.data(), shape.hidden, dir, t),
                           block.first);
    cell.tanh_c = d.tanh_c.data() + here * shape.hidden;
    if (shape.projected()) {
      cell.dh_above = w.dr.data() + skip * shape.hidden;
      cell.dh_above_stride = shape.hidden;
      cell.dh_recurrent = nullptr;
    } else {
      cell.dh_above = d_out + here * shape.out_width() + dir * shape.state;
      cell.dh_above_stride = shape.out_width();
      cell.dh_recurrent = w.dh_recurrent.data() + skip * shape.state;
    }
    cell.dc_carry = w.dc_carry.data() + skip * shape.hidden;
    cell.d_gates = w.d_gates.data() + here * gate_width;
    cell.first_panel = first;
    cell.panel_count = count;
    model.packed.kernels->lstm_cell_backward(cell);
    if (dir == 1) {
      // Sequences whose reverse pass started here: dc_carry is dL/dc0.
      const auto [begin, end] = StartingRows(seq, t, block);
      const int lanes = model.packed.kernels->lanes;
      const int col = first * lanes;
      const int cols = std::min(shape.hidden, (first + count) * lanes) - col;
      CopyBlock(w.dc_carry.data(), w.d_c0.data(), shape.hidden, begin, end, col,
                std::max(cols, 0));
    }
  }

  // One row of dA W_hh over the panels of `w_hh`, two at a time and, on
  // odd steps, from the last pair to the first: the weights one step reads
  // last, still in L2, are the next step's first (as in the forward time
  // loop). Each column's sum is the same in any order.
  void ZigZagRow(int t, kernels::MatrixA d_gates,
                 const kernels::PackedPanels& w_hh, float* dh) const {
    const int pairs = (w_hh.panels() + 1) / 2;
    for (int i = 0; i < pairs; ++i) {
      const int pair = t % 2 == 1 ? pairs - 1 - i : i;
      const kernels::PackedPanels part = w_hh.Panels(2 * pair, 2);
      model.packed.kernels->gemm_packed(1, part.n, w_hh.k, d_gates, part, 0.0f,
                                        dh + 2 * pair * w_hh.panel_width,
                                        part.n,
                                        model.packed.tuning.gemm_packed);
    }
  }

  // dh_recurrent = dA W_hh for P columns in panels [first, first + count),
  // in rows `block`: only this product stays inside the time loop.
  void RecurrentBack(int dir, int t, RowBlock block, int first,
                     int count) const {
    DirectionWork& w = *work[dir];
    const kernels::PackedPanels w_hh =
        model.packed.layer(layer, dir).w_hh_rows.Panels(first, count);
    const int rows = block.ActiveAt(seq, t);
    if (w_hh.n <= 0 || rows == 0) return;
    const int gate_width = model.packed.gates.width();
    const int col = first * w_hh.panel_width;
    const size_t here = seq.offset(t) + block.first;
    const kernels::MatrixA d_gates{w.d_gates.data() + here * gate_width,
                                   gate_width, 1};
    float* dh = w.dh_recurrent.data() +
                static_cast<size_t>(block.first) * shape.state + col;
    if (rows == 1) {
      ZigZagRow(t, d_gates, w_hh, dh);
    } else {
      model.packed.kernels->gemm_packed(rows, w_hh.n, gate_width, d_gates, w_hh,
                                        0.0f, dh, shape.state,
                                        model.packed.tuning.gemm_packed);
    }
    if (dir == 1) {
      const auto [begin, end] = StartingRows(seq, t, block);
      CopyBlock(w.dh_recurrent.data(), w.d_h0.data(), shape.state, begin, end,
                col, w_hh.n);
    }
  }
};

// WalkSteps for batches too small for row blocks: each step's phases are
// sliced over hidden units, with a barrier between phases.
void WalkStepsSliced(const LayerBackward& lb) {
  const Model::Impl& model = lb.model;
  const LayerShape& shape = lb.shape;
  const int gate_panels = model.packed.gates.panels();
  const int state_panels = model.packed.layer(lb.layer).w_hh_rows.panels();
  const int hidden_panels =
      shape.projected() ? model.packed.layer(lb.layer).w_hr_rows.panels() : 0;
  const int per_dir = std::max(
      1, StepTeam::SlicesFor(*model.threads, shape.dirs * gate_panels) /
             shape.dirs);
  // Each phase needs all of the one before: without a projection the cell
  // backward, then dA W_hh; with one, first dh = above + recurrent, then
  // dr = dh W_hr.
  const int phases = shape.projected() ? 4 : 2;
  const int seq_len = lb.seq.seq_len();
  StepTeam::Run(
      *model.threads, seq_len * phases, per_dir * shape.dirs,
      [&](int index, int slice) {
        const int dir = slice / per_dir;
        const int s = slice % per_dir;
        const int step = index / phases;
        const int t = dir == 0 ? seq_len - 1 - step : step;
        const int phase = index % phases + (shape.projected() ? 0 : 2);
        const RowBlock all = RowBlock::All(lb.seq);
        if (phase == 0) {
          const auto [first, count] = SlicePanels(state_panels, per_dir, s);
          lb.SumStateGradient(dir, t, all, first, count);
        } else if (phase == 1) {
          const auto [first, count] = SlicePanels(hidden_panels, per_dir, s);
          lb.ProjectBack(dir, t, all, first, count);
        } else if (phase == 2) {
          const auto [first, count] = SlicePanels(gate_panels, per_dir, s);
          lb.CellBackward(dir, t, all, first, count);
        } else {
          const auto [first, count] = SlicePanels(state_panels, per_dir, s);
          lb.RecurrentBack(dir, t, all, first, count);
        }
      });
}

// One step of one direction in rows `block`, whole: each phase needs all
// of the one before.
void BackStepRows(const LayerBackward& lb, int dir, int t, RowBlock block) {
  const Model::Impl& model = lb.model;
  const int gate_panels = model.packed.gates.panels();
  const int state_panels = model.packed.layer(lb.layer).w_hh_rows.panels();
  if (lb.shape.projected()) {
    lb.SumStateGradient(dir, t, block, 0, state_panels);
    lb.ProjectBack(dir, t, block, 0,
                   model.packed.layer(lb.layer).w_hr_rows.panels());
  }
  lb.CellBackward(dir, t, block, 0, gate_panels);
  lb.RecurrentBack(dir, t, block, 0, state_panels);
}

// Walks every step of both directions backward, the forward direction from
// the last step down, the reverse one from the first step up: in blocks of
// batch rows that each walk every step alone where the batch is large
// enough, otherwise every step at once, sliced over hidden units.
void WalkSteps(const LayerBackward& lb) {
  const Model::Impl& model = lb.model;
  const LayerShape& shape = lb.shape;
  const int blocks =
      IndependentRowBlocks(*model.threads, lb.seq.batch(), shape.dirs);
  if (blocks > 0) {
    WalkRowBlocks(
        *model.threads, lb.seq, shape.dirs, blocks, true,
        [&](int dir, int t, RowBlock rows) { BackStepRows(lb, dir, t, rows); });
  } else {
    WalkStepsSliced(lb);
  }
  // The forward direction ends at step 0, where every sequence began.
  DirectionWork& forward = *lb.work[0];
  forward.d_h0 = forward.dh_recurrent;
  forward.d_c0 = forward.dc_carry;
}

// h_prev for every packed row of one direction, [R][P], for dW_hh.
const float* PreviousStates(const LayerShape& shape, const SequenceLayout& seq,
                            const LayerTrace& trace, int dir,
                            std::vector<float>* gathered) {
  // One direction, full lengths: the output buffer's first R rows are
  // exactly h_{t-1} for every step.
  if (seq.plain() && shape.dirs == 1) return trace.out.data();
  gathered->resize(seq.total_rows() * shape.state);
  for (int t = 0; t < seq.seq_len(); ++t) {
    const kernels::StateRows prev = PreviousRows(
        seq, trace.out.data() + dir * shape.state, shape.out_width(), dir, t);
    for (int i = 0; i < seq.rows(t); ++i) {
      std::copy_n(prev.row(i), shape.state,
                  gathered->data() + (seq.offset(t) + i) * shape.state);
    }
  }
  return gathered->data();
}

// For each PyTorch gate row (gate * H + unit), its gate-interleaved column.
// Filled on every call: the layout follows the kernels' vector width, which
// a forced target may change between calls.
const std::vector<int>& GateColumns(const GateLayout& gl,
                                    std::vector<int>* columns) {
  columns->resize(4 * static_cast<size_t>(gl.hidden()));
  for (size_t r = 0; r < columns->size(); ++r) {
    (*columns)[r] = gl.ColumnOfRow(static_cast<int>(r));
  }
  return *columns;
}

// Weight and bias gradients of one direction from its gate gradients over
// every step. The products read dA's gate-interleaved columns through a
// row map in PyTorch's row order, so they write the parameters directly.
void WeightGradients(const Model::Impl& model, const LayerShape& shape,
                     int layer, int dir, const SequenceLayout& seq,
                     const LayerTrace& trace, const float* x,
                     const DirectionWork& w, BackwardBuffers* buffers,
                     float* d_params) {
  const GemmContext ctx = model.gemm();
  const ParameterLayout& layout = *model.layout;
  const GateLayout& gl = model.packed.gates;
  const int width = gl.width();
  const int gate_rows = 4 * shape.hidden;
  const int rows = static_cast<int>(seq.total_rows());
  kernels::MatrixA d_gates_by_row{w.d_gates.data(), 1, width};
  d_gates_by_row.row_map = GateColumns(gl, &buffers->gate_columns).data();
  const float* h_prev =
      PreviousStates(shape, seq, trace, dir, &buffers->previous_states);
  // dW_ih = dA^T X and dW_hh = dA^T H_prev over every step at once (K = R),
  // with dA packed once for both.
  const SharedAOutput outputs[] = {{{x, shape.in, 1},
                                    shape.in,
                                    d_params + layout.weight_ih(layer, dir),
                                    shape.in,
                                    &buffers->packed_inputs},
                                   {{h_prev, shape.state, 1},
                                    shape.state,
                                    d_params + layout.weight_hh(layer, dir),
                                    shape.state,
                                    &buffers->packed_states}};
  ParallelGemmSharedA(ctx, gate_rows, rows, d_gates_by_row, outputs, 2);
  std::vector<float>& bias = buffers->bias_columns;
  bias.resize(width);
  ParallelColumnSums(ctx, rows, width, w.d_gates.data(), width, bias.data());
  float* b_ih = d_params + layout.bias_ih(layer, dir);
  float* b_hh = d_params + layout.bias_hh(layer, dir);
  for (int n = 0; n < width; ++n) {
    const int row = gl.SourceRow(n);
    if (row >= 0) b_ih[row] = b_hh[row] = bias[n];
  }
  if (shape.projected()) {
    // dW_hr = dh^T r.
    ParallelGemm(ctx, shape.state, shape.hidden, rows,
                 {w.dh_total.data(), 1, shape.state},
                 {trace.dirs[dir].r.data(), shape.hidden, 1}, 0.0f,
                 d_params + layout.weight_hr(layer, dir), shape.hidden);
  }
}

// Backward through one layer: parameter gradients, dL/dx for its input
// (d_x, [R][I_k], or null to skip it), and the initial states' gradients in the
// caller's order.
void BackwardLayer(const Model::Impl& model, int layer,
                   const ForwardTrace& forward, const float* x,
                   const float* d_out, float* d_params, float* d_x,
                   BackwardBuffers* buffers, Gradients* gradients) {
  const LayerShape shape = ShapeOf(model, layer);
  const SequenceLayout& seq = forward.layout;
  const LayerTrace& trace = forward.layers[layer];
  const int gate_width = model.packed.gates.width();
  DirectionWork& forward_dir = buffers->dirs[0];
  DirectionWork& reverse_dir = buffers->dirs[1];
  {
    const ScopedPhase phase(Phase::kBackwardBuffers);
    forward_dir.Reset(shape, seq, gate_width);
    // A unidirectional layer's reverse work is empty.
    const bool reverse = shape.dirs == 2;
    reverse_dir.Reset(reverse ? shape : LayerShape{0, 0, 1, 0}, seq,
                      reverse ? gate_width : 0);
  }
  const LayerBackward lb{
      model, shape, layer, seq, trace, d_out, {&forward_dir, &reverse_dir}};
  {
    const ScopedPhase phase(Phase::kBackwardSteps);
    WalkSteps(lb);
  }
  const int rows = static_cast<int>(seq.total_rows());
  for (int dir = 0; dir < shape.dirs; ++dir) {
    const DirectionWork& w = *lb.work[dir];
    {
      const ScopedPhase phase(Phase::kWeightGradients);
      WeightGradients(model, shape, layer, dir, seq, trace, x, w, buffers,
                      d_params);
    }
    if (d_x != nullptr) {
      // Both directions read the same input: their dX add up, forward
      // first.
      const ScopedPhase phase(Phase::kInputGradients);
      ParallelGemmPacked(model.gemm(), rows, shape.in, gate_width,
                         {w.d_gates.data(), gate_width, 1},
                         model.packed.input_rows(layer, dir),
                         dir == 0 ? 0.0f : 1.0f, d_x, shape.in);
    }
    const size_t block = static_cast<size_t>(layer * shape.dirs + dir);
    seq.ScatterBatch(w.d_h0.data(), shape.state,
                     gradients->h0.data() + block * seq.batch() * shape.state);
    seq.ScatterBatch(w.d_c0.data(), shape.hidden,
                     gradients->c0.data() + block * seq.batch() * shape.hidden);
  }
}

// dL/d(below's output) from dL/d(this layer's input) through the dropout
// mask the forward pass applied.
void UndoDropout(const Model::Impl& model, int layer, const ForwardTrace& trace,
                 float* d_input) {
  const SequenceLayout& seq = trace.layout;
  const int width = model.layout->layer_input_size(layer);
  for (int t = 0; t < seq.seq_len(); ++t) {
    for (int i = 0; i < seq.rows(t); ++i) {
      float* row = d_input + (seq.offset(t) + i) * width;
      for (int j = 0; j < width; ++j) {
        row[j] *= DropoutScale(trace.dropout_seed, layer, t, seq.original(i), j,
                               model.config.dropout);
      }
    }
  }
}

}  // namespace

void DirectionWork::Reset(const LayerShape& shape, const SequenceLayout& seq,
                          int gate_width) {
  const size_t batch = seq.batch();
  d_gates.resize(seq.total_rows() * gate_width);
  dh_recurrent.assign(batch * shape.state, 0.0f);
  dc_carry.assign(batch * shape.hidden, 0.0f);
  dh_total.assign(shape.projected() ? seq.total_rows() * shape.state : 0, 0.0f);
  dr.assign(shape.projected() ? batch * shape.hidden : 0, 0.0f);
  d_h0.assign(batch * shape.state, 0.0f);
  d_c0.assign(batch * shape.hidden, 0.0f);
}

void RunBackward(const Model::Impl& model, const Input& input,
                 const ForwardTrace& trace, const float* d_output,
                 const GradientOptions& options, BackwardBuffers* buffers,
                 Gradients* gradients) {
  const ScopedPhase whole(Phase::kBackwardCall);
  const ModelConfig& config = model.config;
  const SequenceLayout& seq = trace.layout;
  const ParameterLayout& layout = *model.layout;
  const size_t rows = seq.total_rows();
  const size_t out_width = layout.layer_output_size();
  const bool dropout = trace.training && config.dropout > 0.0f;
  Span<float> d_params = gradients->parameters();

  auto& d_out = buffers->d_out;
  auto& d_below = buffers->d_below;
  const size_t states = static_cast<size_t>(config.num_layers) *
                        layout.directions() * seq.batch();
  {
    const ScopedPhase phase(Phase::kBackwardBuffers);
    d_out.resize(rows * out_width);
    gradients->x.resize(options.input ? input.x.size() : 0);
    gradients->h0.resize(states * layout.state_width());
    gradients->c0.resize(states * config.hidden_size);
  }
  // dL/d(this layer's output). Without a head, every step's rows are the
  // output's rows: dL/d(output) is used as it is, not copied.
  const float* d_layer_out = d_output;
  if (config.output_size > 0 || config.output_steps == OutputSteps::kLastStep) {
    const ScopedPhase phase(Phase::kHead);
    HeadBackward(model, trace, d_output, d_params.data(), d_out.data());
    d_layer_out = d_out.data();
  }
  for (int layer = config.num_layers - 1; layer >= 0; --layer) {
    const bool bottom = layer == 0;
    const float* x;
    if (bottom) {
      x = seq.plain() ? input.x.data() : trace.packed_x.data();
    } else if (dropout) {
      x = trace.layers[layer].dropped_input.data();
    } else {
      x = trace.layers[layer - 1].out.data() + seq.batch() * out_width;
    }
    // Null: the bottom layer's dX is not asked for.
    float* d_x = options.input ? gradients->x.data() : nullptr;
    if (!bottom || (options.input && !seq.plain())) {
      d_below.resize(rows * layout.layer_input_size(layer));
      d_x = d_below.data();
    }
    BackwardLayer(model, layer, trace, x, d_layer_out, d_params.data(), d_x,
                  buffers, gradients);
    if (!bottom) {
      if (dropout) UndoDropout(model, layer, trace, d_below.data());
      d_out.swap(d_below);
      d_layer_out = d_out.data();
    } else if (options.input && !seq.plain()) {
      seq.Scatter(d_below.data(), config.input_size, gradients->x.data());
    }
  }
}

}  // namespace lstmkit::internal
