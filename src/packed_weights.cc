#include "packed_weights.h"

namespace lstmkit::internal {

namespace {

// w as the model computes with it: rounded to the nearest bfloat16 when the
// model's precision is bfloat16.
float Effective(const PackedWeights& packed, float w) {
  return packed.bf16 ? kernels::WidenBF16(kernels::RoundToBF16(w)) : w;
}

void PackDirection(const ParameterLayout& layout,
                   const std::vector<float>& params, int layer, int dir,
                   const PackedWeights& packed, PackedLayer* out) {
  const int in = layout.layer_input_size(layer);
  const int state = layout.state_width();  // P: W_hh's columns
  const GateLayout& gl = packed.gates;
  const int pw = kernels::kPanelVectors * packed.kernels->lanes;
  const float* w_ih = params.data() + layout.weight_ih(layer, dir);
  const float* w_hh = params.data() + layout.weight_hh(layer, dir);
  // Element `col` of PyTorch row SourceRow(gate) of w, or 0 for padding.
  auto gate_row = [&](const float* w, int cols, int gate, int col) {
    const int row = gl.SourceRow(gate);
    return row < 0
               ? 0.0f
               : Effective(packed, w[static_cast<size_t>(row) * cols + col]);
  };
  auto ih = [&](int k, int n) { return gate_row(w_ih, in, n, k); };
  auto hh = [&](int k, int n) { return gate_row(w_hh, state, n, k); };
  kernels::PackPanels(in, gl.width(), pw, ih, &out->w_ih);
  kernels::PackPanels(state, gl.width(), pw, hh, &out->w_hh);
  kernels::PackPanels(
      gl.width(), in, pw,
      [&](int k, int n) { return gate_row(w_ih, in, k, n); }, &out->w_ih_rows);
  kernels::PackPanels(
      gl.width(), state, pw,
      [&](int k, int n) { return gate_row(w_hh, state, k, n); },
      &out->w_hh_rows);
  out->w_ih_bf16 = {};
  out->w_hh_bf16 = {};
  if (packed.bf16) {
    kernels::PackPanelsBF16(in, gl.width(), pw, ih, &out->w_ih_bf16);
    kernels::PackPanelsBF16(state, gl.width(), pw, hh, &out->w_hh_bf16);
  }
  const float* b_ih = params.data() + layout.bias_ih(layer, dir);
  const float* b_hh = params.data() + layout.bias_hh(layer, dir);
  out->bias.assign(gl.width(), 0.0f);
  for (int n = 0; n < gl.width(); ++n) {
    const int row = gl.SourceRow(n);
    if (row >= 0) out->bias[n] = b_ih[row] + b_hh[row];
  }
  out->w_hr = {};
  out->w_hr_rows = {};
  out->w_hr_bf16 = {};
  if (layout.state_width() == static_cast<int>(gl.hidden())) return;
  // The projection h = W_hr r, W_hr [P][H]: as h = r W_hr^T (K = H, N = P)
  // forward, and dr = dh W_hr (K = P, N = H) backward.
  const int hidden = gl.hidden();
  const float* w_hr = params.data() + layout.weight_hr(layer, dir);
  auto hr = [&](int p, int h) {
    return Effective(packed, w_hr[static_cast<size_t>(p) * hidden + h]);
  };
  auto hr_forward = [&](int k, int n) { return hr(n, k); };
  kernels::PackPanels(hidden, state, pw, hr_forward, &out->w_hr);
  kernels::PackPanels(state, hidden, pw, hr, &out->w_hr_rows);
  if (packed.bf16) {
    kernels::PackPanelsBF16(hidden, state, pw, hr_forward, &out->w_hr_bf16);
  }
}

}  // namespace

void PackWeights(const ModelConfig& config, const ParameterLayout& layout,
                 const std::vector<float>& params, bool bf16,
                 PackedWeights* packed) {
  packed->kernels = &kernels::ActiveKernels();
  packed->bf16 = bf16;
  packed->tuning = ActiveTuning(*packed->kernels);
  packed->gates = GateLayout(config.hidden_size, packed->kernels->lanes);
  packed->directions = layout.directions();
  packed->layers.resize(static_cast<size_t>(config.num_layers) *
                        layout.directions());
  for (int layer = 0; layer < config.num_layers; ++layer) {
    for (int dir = 0; dir < layout.directions(); ++dir) {
      PackDirection(layout, params, layer, dir, *packed,
                    &packed->layers[layer * layout.directions() + dir]);
    }
  }
  packed->head = {};
  packed->head_rows = {};
  packed->head_bf16 = {};
  if (config.output_size == 0) return;
  const int in = layout.layer_output_size();
  const int out = config.output_size;
  const int pw = kernels::kPanelVectors * packed->kernels->lanes;
  const float* w = params.data() + layout.head_weight();
  auto weight = [&](int row, int col) {
    return Effective(*packed, w[static_cast<size_t>(row) * in + col]);
  };
  auto forward = [&](int k, int n) { return weight(n, k); };
  kernels::PackPanels(in, out, pw, forward, &packed->head);
  kernels::PackPanels(out, in, pw, weight, &packed->head_rows);
  if (bf16) kernels::PackPanelsBF16(in, out, pw, forward, &packed->head_bf16);
}

}  // namespace lstmkit::internal
