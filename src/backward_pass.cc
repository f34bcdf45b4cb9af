#include "backward_pass.h"

#include <algorithm>
#include <vector>

#include "kernels.h"

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

// sums[n] = sum over rows of A[rows][n].
void ColumnSums(int rows, int n, const float* a, float* sums) {
  std::fill_n(sums, n, 0.0f);
  for (int r = 0; r < rows; ++r) {
    const float* row = a + static_cast<size_t>(r) * n;
    for (int j = 0; j < n; ++j) sums[j] += row[j];
  }
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
  const PackedWeights& packed = model.packed;
  const kernels::KernelTable& kt = *packed.kernels;
  // dW_head = dY^T H_rows; dH_rows = dY W_head.
  kt.gemm(out, hidden, rows, {d_output, 1, out},
          {HeadInputRows(model, trace), hidden, 1}, 0.0f,
          d_params + layout.head_weight(), hidden, packed.blocking);
  ColumnSums(rows, out, d_output, d_params + layout.head_bias());
  kt.gemm_packed(rows, hidden, out, {d_output, out, 1}, packed.head_rows, 0.0f,
                 d_rows, hidden, packed.blocking);
}

// Weight and bias gradients of one layer from the gate gradients of every
// step, scattered from gate-interleaved rows back to PyTorch's order.
void WeightGradients(const Model::Impl& model, int layer, const float* x,
                     const float* h_prev, int rows, const float* d_gates,
                     LayerGradients grads) {
  const PackedWeights& packed = model.packed;
  const kernels::KernelTable& kt = *packed.kernels;
  const GateLayout& gl = packed.gates;
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
  kt.gemm(width, in, rows, {d_gates, 1, width}, {x, in, 1}, 0.0f,
          scratch.data(), in, packed.blocking);
  scatter(in, grads.w_ih);
  kt.gemm(width, hidden, rows, {d_gates, 1, width}, {h_prev, hidden, 1}, 0.0f,
          scratch.data(), hidden, packed.blocking);
  scatter(hidden, grads.w_hh);
  ColumnSums(rows, width, d_gates, scratch.data());
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
  for (int t = seq_len - 1; t >= 0; --t) {
    cell.gates = trace.gates.data() + t * step_gates;
    cell.c_prev = trace.c.data() + t * state;
    cell.tanh_c = trace.tanh_c.data() + t * state;
    cell.dh_above = d_h_out + t * state;
    cell.d_gates = d_gates.data() + t * step_gates;
    kt.lstm_cell_backward(cell);
    // Only W_hh^T da stays inside the time loop.
    kt.gemm_packed(batch, hidden, width, {cell.d_gates, width, 1},
                   weights.w_hh_rows, 0.0f, dh_recurrent.data(), hidden,
                   packed.blocking);
  }
  std::copy(dh_recurrent.begin(), dh_recurrent.end(), d_h0);
  std::copy(dc_carry.begin(), dc_carry.end(), d_c0);
  WeightGradients(model, layer, x, trace.h.data(), rows, d_gates.data(), grads);
  kt.gemm_packed(rows, in, width, {d_gates.data(), width, 1}, weights.w_ih_rows,
                 0.0f, d_x, in, packed.blocking);
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
