#include "packed_weights.h"

#include <algorithm>
#include <vector>

namespace lstmkit::internal {

namespace {

// w as the model computes with it: rounded to the nearest bfloat16 when the
// model's precision is bfloat16.
float Effective(const PackedWeights& packed, float w) {
  return packed.bf16 ? kernels::WidenBF16(kernels::RoundToBF16(w)) : w;
}

// The PyTorch row behind each gate-interleaved column, -1 for padding.
std::vector<int> SourceRows(const GateLayout& gl) {
  std::vector<int> rows(gl.width());
  for (int n = 0; n < gl.width(); ++n) rows[n] = gl.SourceRow(n);
  return rows;
}

// B[k][n] = w[rows[n]][k] (w has `cols` columns, K = cols): a weight matrix
// transposed with its rows in gate-interleaved order. Packing runs after
// every optimizer step, so it is a blocked transpose: for a run of kBlock
// k values, each source row gives kBlock contiguous floats and the panel
// rows they land in stay in L1.
template <typename T, typename Convert>
void PackGateColumns(const float* w, int cols, const std::vector<int>& rows,
                     int pw, Convert convert, T* out) {
  constexpr int kBlock = 8;
  const int width = static_cast<int>(rows.size());
  const T zero = convert(0.0f);
  for (int p = 0; p < width / pw; ++p) {
    for (int k0 = 0; k0 < cols; k0 += kBlock) {
      const int count = std::min(kBlock, cols - k0);
      T* block = out + static_cast<size_t>(k0) * pw;
      for (int j = 0; j < pw; ++j) {
        const int row = rows[p * pw + j];
        T* dst = block + j;
        if (row < 0) {
          for (int kk = 0; kk < count; ++kk) dst[kk * pw] = zero;
          continue;
        }
        const float* src = w + static_cast<size_t>(row) * cols + k0;
        for (int kk = 0; kk < count; ++kk) dst[kk * pw] = convert(src[kk]);
      }
    }
    out += static_cast<size_t>(cols) * pw;
  }
}

// B[k][n] = w[rows[k]][n] (N = cols): the same matrix with its rows in
// gate-interleaved order, for dA W. Copies runs of a row.
template <typename T, typename Convert>
void PackGateRows(const float* w, int cols, const std::vector<int>& rows,
                  int pw, Convert convert, T* out) {
  const int panels = (cols + pw - 1) / pw;
  for (int p = 0; p < panels; ++p) {
    const int first = p * pw, count = std::min(pw, cols - first);
    for (int row : rows) {
      const float* src =
          row < 0 ? nullptr : w + static_cast<size_t>(row) * cols + first;
      if (src != nullptr && count == pw) {
        for (int j = 0; j < pw; ++j) out[j] = convert(src[j]);
      } else {
        for (int j = 0; j < pw; ++j) {
          out[j] =
              src != nullptr && j < count ? convert(src[j]) : convert(0.0f);
        }
      }
      out += pw;
    }
  }
}

void Resize(int k, int n, int pw, kernels::PackedB* packed) {
  packed->k = k;
  packed->n = n;
  packed->panel_width = pw;
  packed->data.Resize(static_cast<size_t>(packed->panels()) * k * pw);
}

void Resize(int k, int n, int pw, kernels::PackedBF16* packed) {
  packed->k = k;
  packed->n = n;
  packed->panel_width = pw;
  packed->data.resize(static_cast<size_t>(packed->panels()) * k * pw);
}

// Puts bfloat16 panels packed in column order into the pair-interleaved
// order the kernels read.
void InterleavePairs(kernels::PackedBF16* packed) {
  kernels::InterleaveBF16Pairs(packed->data.data(), packed->data.size(),
                               packed->panel_width);
}

// The f32 layouts of one direction's W_ih and W_hh: gate columns for the
// forward products, gate rows for the backward ones.
template <typename Convert>
void PackFloatLayouts(const float* w_ih, const float* w_hh, int in, int state,
                      const std::vector<int>& rows, int pw, Convert convert,
                      PackedLayer* out) {
  const int width = static_cast<int>(rows.size());
  Resize(in, width, pw, &out->w_ih);
  PackGateColumns(w_ih, in, rows, pw, convert, out->w_ih.data.data());
  Resize(state, width, pw, &out->w_hh);
  PackGateColumns(w_hh, state, rows, pw, convert, out->w_hh.data.data());
  Resize(width, in, pw, &out->w_ih_rows);
  PackGateRows(w_ih, in, rows, pw, convert, out->w_ih_rows.data.data());
  Resize(width, state, pw, &out->w_hh_rows);
  PackGateRows(w_hh, state, rows, pw, convert, out->w_hh_rows.data.data());
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
  const std::vector<int> rows = SourceRows(gl);
  auto as_bf16 = [](float v) { return kernels::RoundToBF16(v); };
  // The precision is chosen once here, not per element, so that the
  // packing loops vectorize.
  if (packed.bf16) {
    PackFloatLayouts(
        w_ih, w_hh, in, state, rows, pw,
        [](float v) { return kernels::WidenBF16(kernels::RoundToBF16(v)); },
        out);
  } else {
    PackFloatLayouts(
        w_ih, w_hh, in, state, rows, pw, [](float v) { return v; }, out);
  }
  out->w_ih_bf16 = {};
  out->w_hh_bf16 = {};
  if (packed.bf16) {
    Resize(in, gl.width(), pw, &out->w_ih_bf16);
    PackGateColumns(w_ih, in, rows, pw, as_bf16, out->w_ih_bf16.data.data());
    InterleavePairs(&out->w_ih_bf16);
    Resize(state, gl.width(), pw, &out->w_hh_bf16);
    PackGateColumns(w_hh, state, rows, pw, as_bf16, out->w_hh_bf16.data.data());
    InterleavePairs(&out->w_hh_bf16);
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
