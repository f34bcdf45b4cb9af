#include "packed_weights.h"

namespace lstmkit::internal {

namespace {

void PackLayer(const ModelConfig& config, const ParameterLayout& layout,
               const std::vector<float>& params, int layer,
               const PackedWeights& packed, PackedLayer* out) {
  const int hidden = config.hidden_size;
  const int in = layout.layer_input_size(layer);
  const GateLayout& gl = packed.gates;
  const int pw = kernels::kPanelVectors * packed.kernels->lanes;
  const float* w_ih = params.data() + layout.weight_ih(layer);
  const float* w_hh = params.data() + layout.weight_hh(layer);
  // Element `col` of PyTorch row SourceRow(gate) of w, or 0 for padding;
  // rounded to the nearest bfloat16 when the model computes in it.
  auto gate_row = [&](const float* w, int cols, int gate, int col) {
    const int row = gl.SourceRow(gate);
    const float v = row < 0 ? 0.0f : w[static_cast<size_t>(row) * cols + col];
    return packed.bf16 ? kernels::WidenBF16(kernels::RoundToBF16(v)) : v;
  };
  kernels::PackPanels(
      in, gl.width(), pw,
      [&](int k, int n) { return gate_row(w_ih, in, n, k); }, &out->w_ih);
  kernels::PackPanels(
      hidden, gl.width(), pw,
      [&](int k, int n) { return gate_row(w_hh, hidden, n, k); }, &out->w_hh);
  kernels::PackPanels(
      gl.width(), in, pw,
      [&](int k, int n) { return gate_row(w_ih, in, k, n); }, &out->w_ih_rows);
  kernels::PackPanels(
      gl.width(), hidden, pw,
      [&](int k, int n) { return gate_row(w_hh, hidden, k, n); },
      &out->w_hh_rows);
  if (packed.bf16) {
    kernels::PackPanelsBF16(
        in, gl.width(), pw,
        [&](int k, int n) { return gate_row(w_ih, in, n, k); },
        &out->w_ih_bf16);
    kernels::PackPanelsBF16(
        hidden, gl.width(), pw,
        [&](int k, int n) { return gate_row(w_hh, hidden, n, k); },
        &out->w_hh_bf16);
  } else {
    out->w_ih_bf16 = {};
    out->w_hh_bf16 = {};
  }
  const float* b_ih = params.data() + layout.bias_ih(layer);
  const float* b_hh = params.data() + layout.bias_hh(layer);
  out->bias.assign(gl.width(), 0.0f);
  for (int n = 0; n < gl.width(); ++n) {
    const int row = gl.SourceRow(n);
    if (row >= 0) out->bias[n] = b_ih[row] + b_hh[row];
  }
}

}  // namespace

void PackWeights(const ModelConfig& config, const ParameterLayout& layout,
                 const std::vector<float>& params, bool bf16,
                 PackedWeights* packed) {
  packed->kernels = &kernels::ActiveKernels();
  packed->bf16 = bf16;
  packed->blocking = kernels::DefaultBlocking(*packed->kernels);
  packed->gates = GateLayout(config.hidden_size, packed->kernels->lanes);
  packed->layers.resize(config.num_layers);
  for (int layer = 0; layer < config.num_layers; ++layer) {
    PackLayer(config, layout, params, layer, *packed, &packed->layers[layer]);
  }
  if (config.output_size == 0) return;
  const int hidden = config.hidden_size;
  const int out = config.output_size;
  const int pw = kernels::kPanelVectors * packed->kernels->lanes;
  const float* w = params.data() + layout.head_weight();
  auto weight = [&](int row, int col) {
    const float v = w[static_cast<size_t>(row) * hidden + col];
    return bf16 ? kernels::WidenBF16(kernels::RoundToBF16(v)) : v;
  };
  kernels::PackPanels(
      hidden, out, pw, [&](int k, int n) { return weight(n, k); },
      &packed->head);
  kernels::PackPanels(
      out, hidden, pw, [&](int k, int n) { return weight(k, n); },
      &packed->head_rows);
  packed->head_bf16 = {};
  if (bf16) {
    kernels::PackPanelsBF16(
        hidden, out, pw, [&](int k, int n) { return weight(n, k); },
        &packed->head_bf16);
  }
}

}  // namespace lstmkit::internal
