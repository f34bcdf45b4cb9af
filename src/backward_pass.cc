#include "backward_pass.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "kernels.h"
#include "parallel_gemm.h"
#include "sequence_layout.h"
#include "step_team.h"

namespace lstmkit::internal {

namespace {

struct LayerGradients {
  float* w_ih;
  float* w_hh;
  float* b_ih;
  float* b_hh;
};

LayerGradients LayerSlices(const ParameterLayout& layout, int layer,
                           float* d_params) {
  return {d_params + layout.weight_ih(layer),
          d_params + layout.weight_hh(layer), d_params + layout.bias_ih(layer),
          d_params + layout.bias_hh(layer)};
}

// The head's share: its parameter gradients, and dL/dh for its input rows.
void ComputeHeadRows(const Model::Impl& model, const ForwardTrace& trace,
                     const float* d_output, float* d_params, float* d_rows) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const int rows = trace.output_rows;
  if (config.output_size == 0) {
    std::copy_n(d_output, static_cast<size_t>(rows) * hidden, d_rows);
    return;
  }
  const int out = config.output_size;
  const ParameterLayout& layout = *model.layout;
  const GemmContext ctx = model.gemm();
  // dW_head = dY^T H_rows; dH_rows = dY W_head.
  ParallelGemm(ctx, out, hidden, rows, {d_output, 1, out},
               {HeadInputRows(model, trace), hidden, 1}, 0.0f,
               d_params + layout.head_weight(), hidden);
  ParallelColumnSums(ctx, rows, out, d_output, out,
                     d_params + layout.head_bias());
  ParallelGemmPacked(ctx, rows, hidden, out, {d_output, out, 1},
                     model.packed.head_rows, 0.0f, d_rows, hidden);
}

// Turns dL/d(output) into dL/dh of the top layer for every packed row,
// [R][H].
void HeadBackward(const Model::Impl& model, const ForwardTrace& trace,
                  const float* d_output, float* d_params, float* d_top) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const SequenceLayout& seq = trace.layout;
  const bool last_only = config.output_steps == OutputSteps::kLastStep;
  const int rows = trace.output_rows;
  // Every step: the head's rows are d_top's rows. Last step: they are one
  // row per sequence, computed apart and scattered to each last step.
  std::vector<float> last_rows;
  float* d_rows = d_top;
  if (last_only) {
    std::fill_n(d_top, seq.total_rows() * hidden, 0.0f);
    last_rows.resize(static_cast<size_t>(rows) * hidden);
    d_rows = last_rows.data();
  }
  ComputeHeadRows(model, trace, d_output, d_params, d_rows);
  for (int i = 0; last_only && i < seq.batch(); ++i) {
    std::copy_n(d_rows + static_cast<size_t>(i) * hidden, hidden,
                d_top + seq.last_row(i) * hidden);
  }
}

// Weight and bias gradients of one layer from the gate gradients of every
// step, scattered from gate-interleaved rows back to PyTorch's order.
void WeightGradients(const Model::Impl& model, int layer, const float* x,
                     const float* h_prev, int rows, const float* d_gates,
                     LayerGradients grads) {
  const GemmContext ctx = model.gemm();
  const GateLayout& gl = model.packed.gates;
  const int width = gl.width();
  const int hidden = model.config.hidden_size;
  const int in = model.layout->layer_input_size(layer);
  std::vector<float> scratch(static_cast<size_t>(width) * std::max(in, hidden));
  auto scatter = [&](int cols, float* dst) {
    for (int n = 0; n < width; ++n) {
      const int row = gl.SourceRow(n);
      if (row < 0) continue;
      std::copy_n(scratch.data() + static_cast<size_t>(n) * cols, cols,
                  dst + static_cast<size_t>(row) * cols);
    }
  };
  // dW = dA^T X over every step at once: K = T * B.
  ParallelGemm(ctx, width, in, rows, {d_gates, 1, width}, {x, in, 1}, 0.0f,
               scratch.data(), in);
  scatter(in, grads.w_ih);
  ParallelGemm(ctx, width, hidden, rows, {d_gates, 1, width},
               {h_prev, hidden, 1}, 0.0f, scratch.data(), hidden);
  scatter(hidden, grads.w_hh);
  ParallelColumnSums(ctx, rows, width, d_gates, width, scratch.data());
  for (int n = 0; n < width; ++n) {
    const int row = gl.SourceRow(n);
    if (row >= 0) grads.b_ih[row] = grads.b_hh[row] = scratch[n];
  }
}

// h_{t-1} for every packed row, as one [R][H] matrix for dW_hh. In the
// plain layout it is the trace's h buffer itself; otherwise step t's rows
// are a prefix of step t-1's and are gathered.
const float* PreviousStates(const SequenceLayout& seq, const LayerTrace& trace,
                            int hidden, std::vector<float>* gathered) {
  if (seq.plain()) return trace.h.data();
  gathered->resize(seq.total_rows() * hidden);
  const size_t batch = seq.batch();
  for (int t = 0; t < seq.seq_len(); ++t) {
    const size_t prev = t == 0 ? 0 : batch + seq.offset(t - 1);
    std::copy_n(trace.h.data() + prev * hidden,
                static_cast<size_t>(seq.rows(t)) * hidden,
                gathered->data() + seq.offset(t) * hidden);
  }
  return gathered->data();
}

// Backward through one layer. d_h_out: dL/dh from above for every packed
// row ([R][H]); d_x receives dL/dx for every packed row ([R][I_k]);
// d_h0/d_c0 receive the initial states' gradients in sorted order ([B][H]).
void BackwardLayer(const Model::Impl& model, int layer, const float* x,
                   const LayerTrace& trace, const SequenceLayout& seq,
                   const float* d_h_out, LayerGradients grads, float* d_x,
                   float* d_h0, float* d_c0) {
  const PackedWeights& packed = model.packed;
  const PackedLayer& weights = packed.layers[layer];
  const kernels::KernelTable& kt = *packed.kernels;
  const int hidden = model.config.hidden_size;
  const int width = packed.gates.width();
  const int in = model.layout->layer_input_size(layer);
  const size_t batch = seq.batch();
  const size_t rows = seq.total_rows();
  const int seq_len = seq.seq_len();

  std::vector<float> d_gates(rows * width);
  // Rows past a sequence's end stay zero: a sequence that ends at step t
  // gets no gradient from later steps.
  std::vector<float> dh_recurrent(batch * hidden, 0.0f);
  std::vector<float> dc_carry(batch * hidden, 0.0f);
  kernels::LstmCellBackwardArgs cell;
  cell.hidden = hidden;
  cell.gate_stride = width;
  cell.dh_recurrent = dh_recurrent.data();
  cell.dc_carry = dc_carry.data();
  // Two phases per step, each split over hidden units: the cell backward
  // (slice = gate panels), then dh_recurrent = dA W_hh (slice = panels of
  // dh's columns). Each needs all of the phase before.
  const int gate_panels = packed.gates.panels();
  const int dh_panels = weights.w_hh_rows.panels();
  const int slices = StepTeam::SlicesFor(*model.threads, gate_panels);
  StepTeam::Run(*model.threads, 2 * seq_len, slices, [&](int phase, int s) {
    const int t = seq_len - 1 - phase / 2;
    const int n = seq.rows(t);
    const size_t here = seq.offset(t);
    float* d_gates_t = d_gates.data() + here * width;
    if (phase % 2 == 0) {
      const size_t prev = t == 0 ? 0 : batch + seq.offset(t - 1);
      kernels::LstmCellBackwardArgs part = cell;
      part.batch = n;
      part.gates = trace.gates.data() + here * width;
      part.c_prev = trace.c.data() + prev * hidden;
      part.tanh_c = trace.tanh_c.data() + here * hidden;
      part.dh_above = d_h_out + here * hidden;
      part.d_gates = d_gates_t;
      std::tie(part.first_panel, part.panel_count) =
          SlicePanels(gate_panels, slices, s);
      kt.lstm_cell_backward(part);
      return;
    }
    // Only W_hh^T da stays inside the time loop.
    const auto [first, count] = SlicePanels(dh_panels, slices, s);
    if (count == 0) return;
    const kernels::PackedPanels w = weights.w_hh_rows.Panels(first, count);
    const int col = first * w.panel_width;
    kt.gemm_packed(n, w.n, width, {d_gates_t, width, 1}, w, 0.0f,
                   dh_recurrent.data() + col, hidden, packed.blocking);
  });
  std::copy(dh_recurrent.begin(), dh_recurrent.end(), d_h0);
  std::copy(dc_carry.begin(), dc_carry.end(), d_c0);
  std::vector<float> gathered;
  WeightGradients(model, layer, x,
                  PreviousStates(seq, trace, hidden, &gathered),
                  static_cast<int>(rows), d_gates.data(), grads);
  ParallelGemmPacked(model.gemm(), static_cast<int>(rows), in, width,
                     {d_gates.data(), width, 1}, weights.w_ih_rows, 0.0f, d_x,
                     in);
}

}  // namespace

void RunBackward(const Model::Impl& model, const Input& input,
                 const ForwardTrace& trace, const float* d_output,
                 Gradients* gradients) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const SequenceLayout& seq = trace.layout;
  const size_t state = static_cast<size_t>(seq.batch()) * hidden;
  const size_t rows = seq.total_rows();
  const ParameterLayout& layout = *model.layout;
  Span<float> d_params = gradients->parameters();

  std::vector<float> d_h_out(rows * hidden);
  std::vector<float> d_below;
  HeadBackward(model, trace, d_output, d_params.data(), d_h_out.data());
  gradients->x.resize(input.x.size());
  gradients->h0.resize(state * config.num_layers);
  gradients->c0.resize(state * config.num_layers);
  // In sorted order while computing; put back in the caller's order below.
  std::vector<float> d_h0(state), d_c0(state);
  for (int layer = config.num_layers - 1; layer >= 0; --layer) {
    const bool bottom = layer == 0;
    const float* x =
        bottom ? (seq.plain() ? input.x.data() : trace.packed_x.data())
               : trace.layers[layer - 1].h.data() + state;
    const size_t in = model.layout->layer_input_size(layer);
    float* d_x = gradients->x.data();
    if (!bottom || !seq.plain()) {
      d_below.resize(rows * in);
      d_x = d_below.data();
    }
    BackwardLayer(model, layer, x, trace.layers[layer], seq, d_h_out.data(),
                  LayerSlices(layout, layer, d_params.data()), d_x, d_h0.data(),
                  d_c0.data());
    float* h0_out = gradients->h0.data() + layer * state;
    float* c0_out = gradients->c0.data() + layer * state;
    if (seq.plain()) {
      std::copy(d_h0.begin(), d_h0.end(), h0_out);
      std::copy(d_c0.begin(), d_c0.end(), c0_out);
    } else {
      seq.ScatterBatch(d_h0.data(), hidden, h0_out);
      seq.ScatterBatch(d_c0.data(), hidden, c0_out);
    }
    if (!bottom) {
      d_h_out.swap(d_below);
    } else if (!seq.plain()) {
      seq.Scatter(d_below.data(), config.input_size, gradients->x.data());
    }
  }
}

}  // namespace lstmkit::internal
