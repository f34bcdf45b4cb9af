#include "backward_pass.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "kernels.h"
#include "parallel_gemm.h"
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

// Turns dL/d(output) into dL/dh of the top layer for every step, [T][B][H].
void HeadBackward(const Model::Impl& model, const ForwardTrace& trace,
                  const float* d_output, float* d_params, float* d_top) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const size_t state = static_cast<size_t>(trace.batch) * hidden;
  const bool last_only = config.output_steps == OutputSteps::kLastStep;
  std::fill_n(d_top, state * trace.seq_len, 0.0f);
  float* d_rows = last_only ? d_top + (trace.seq_len - 1) * state : d_top;
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

// Backward through one layer. d_h_out: dL/dh_t from above for every step
// ([T][B][H]); d_x receives dL/dx_t ([T][B][I_k]); d_h0/d_c0 receive the
// initial states' gradients ([B][H]).
void BackwardLayer(const Model::Impl& model, int layer, const float* x,
                   const LayerTrace& trace, int seq_len, int batch,
                   const float* d_h_out, LayerGradients grads, float* d_x,
                   float* d_h0, float* d_c0) {
  const PackedWeights& packed = model.packed;
  const PackedLayer& weights = packed.layers[layer];
  const kernels::KernelTable& kt = *packed.kernels;
  const int hidden = model.config.hidden_size;
  const int width = packed.gates.width();
  const int in = model.layout->layer_input_size(layer);
  const size_t state = static_cast<size_t>(batch) * hidden;
  const size_t step_gates = static_cast<size_t>(batch) * width;
  const int rows = seq_len * batch;

  std::vector<float> d_gates(static_cast<size_t>(rows) * width);
  std::vector<float> dh_recurrent(state, 0.0f);
  std::vector<float> dc_carry(state, 0.0f);
  kernels::LstmCellBackwardArgs cell;
  cell.batch = batch;
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
    float* d_gates_t = d_gates.data() + t * step_gates;
    if (phase % 2 == 0) {
      kernels::LstmCellBackwardArgs part = cell;
      part.gates = trace.gates.data() + t * step_gates;
      part.c_prev = trace.c.data() + t * state;
      part.tanh_c = trace.tanh_c.data() + t * state;
      part.dh_above = d_h_out + t * state;
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
    kt.gemm_packed(batch, w.n, width, {d_gates_t, width, 1}, w, 0.0f,
                   dh_recurrent.data() + col, hidden, packed.blocking);
  });
  std::copy(dh_recurrent.begin(), dh_recurrent.end(), d_h0);
  std::copy(dc_carry.begin(), dc_carry.end(), d_c0);
  WeightGradients(model, layer, x, trace.h.data(), rows, d_gates.data(), grads);
  ParallelGemmPacked(model.gemm(), rows, in, width, {d_gates.data(), width, 1},
                     weights.w_ih_rows, 0.0f, d_x, in);
}

}  // namespace

void RunBackward(const Model::Impl& model, const Input& input,
                 const ForwardTrace& trace, const float* d_output,
                 Gradients* gradients) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const int batch = input.batch;
  const int seq_len = input.seq_len;
  const size_t state = static_cast<size_t>(batch) * hidden;
  const ParameterLayout& layout = *model.layout;
  Span<float> d_params = gradients->parameters();

  std::vector<float> d_h_out(state * seq_len);
  std::vector<float> d_below;
  HeadBackward(model, trace, d_output, d_params.data(), d_h_out.data());
  gradients->x.resize(input.x.size());
  gradients->h0.resize(state * config.num_layers);
  gradients->c0.resize(state * config.num_layers);
  for (int layer = config.num_layers - 1; layer >= 0; --layer) {
    const bool bottom = layer == 0;
    const float* x =
        bottom ? input.x.data() : trace.layers[layer - 1].h.data() + state;
    float* d_x = gradients->x.data();
    if (!bottom) {
      d_below.resize(state * seq_len);
      d_x = d_below.data();
    }
    BackwardLayer(model, layer, x, trace.layers[layer], seq_len, batch,
                  d_h_out.data(), LayerSlices(layout, layer, d_params.data()),
                  d_x, gradients->h0.data() + layer * state,
                  gradients->c0.data() + layer * state);
    if (!bottom) d_h_out.swap(d_below);
  }
}

}  // namespace lstmkit::internal
