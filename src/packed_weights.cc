#include "packed_weights.h"

#include <algorithm>
#include <vector>

#include "check.h"

namespace lstmkit::internal {

namespace {

// w rounded to the nearest bfloat16, as f32. A lambda, so that the packing
// loops it is passed to inline it and vectorize.
constexpr auto RoundedToBF16 = [](float w) {
  return kernels::WidenBF16(kernels::RoundToBF16(w));
};

// w as the model computes with it: rounded to the nearest bfloat16 when the
// model's precision is bfloat16.
float Effective(const PackedWeights& packed, float w) {
  return packed.bf16 ? RoundedToBF16(w) : w;
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

// PackGateColumns for f32 weights taken as they are, with the kernels'
// vector transpose: at H = 256 the scalar one was 5 % of a batch-1 training
// step.
void TransposeGateColumns(const kernels::KernelTable& kt, const float* w,
                          int cols, const std::vector<int>& rows, int pw,
                          float* out) {
  std::vector<const float*> panel_rows(pw);
  for (size_t first = 0; first < rows.size(); first += pw) {
    for (int j = 0; j < pw; ++j) {
      const int row = rows[first + j];
      panel_rows[j] = row < 0 ? nullptr : w + static_cast<size_t>(row) * cols;
    }
    kt.transpose_rows(panel_rows.data(), pw, cols, out, pw);
    out += static_cast<size_t>(cols) * pw;
  }
}

// B[k][n] = w[rows[k]][n] (N = cols): the same matrix with its rows in
// gate-interleaved order, for dA W. Each source row is read once, from
// start to end, and dealt out to the panels: walking panel by panel read
// every row once per panel, a short piece of it a whole row apart, and at
// H = 512 took 4 of the 7 ms a repack took.
template <typename T, typename Convert>
void PackGateRows(const float* w, int cols, const std::vector<int>& rows,
                  int pw, Convert convert, T* out) {
  const int panels = (cols + pw - 1) / pw;
  const size_t panel_stride = rows.size() * pw;
  const T zero = convert(0.0f);
  for (size_t n = 0; n < rows.size(); ++n) {
    T* dst = out + n * pw;
    if (rows[n] < 0) {
      for (int p = 0; p < panels; ++p)
        std::fill_n(dst + p * panel_stride, pw, zero);
      continue;
    }
    const float* src = w + static_cast<size_t>(rows[n]) * cols;
    for (int p = 0; p < panels; ++p, dst += panel_stride) {
      const int first = p * pw, count = std::min(pw, cols - first);
      for (int j = 0; j < count; ++j) dst[j] = convert(src[first + j]);
      std::fill(dst + count, dst + pw, zero);
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
  packed->Resize(static_cast<size_t>(packed->panels()) * k * pw);
}

// Puts bfloat16 panels packed in column order into the pair-interleaved
// order the kernels read.
void InterleavePairs(kernels::PackedBF16* packed) {
  kernels::InterleaveBF16Pairs(packed->values(), packed->size(),
                               packed->panel_width);
}

// One direction's weight layouts fall into parts that write disjoint
// buffers, so that they can be packed at once on several threads: the
// optimizer repacks after every step, and at batch 1 that is a visible
// share of a training step.
enum class PackPart {
  kInputColumns,      // w_ih (and its bfloat16 copy), the biases
  kRecurrentColumns,  // w_hh (and its bfloat16 copy)
  kInputRows,         // w_ih_rows
  kRecurrentRows,     // w_hh_rows
  kProjection,        // w_hr, w_hr_rows (and w_hr_bf16)
};
constexpr int kPackParts = 5;

// What every part of one direction reads.
struct DirectionSource {
  const ParameterLayout& layout;
  Span<const float> params;
  const PackedWeights& packed;
  const std::vector<int>& rows;  // SourceRows(packed.gates)
  int layer;
  int dir;

  int pw() const { return kernels::kPanelVectors * packed.kernels->lanes; }
  int width() const { return static_cast<int>(rows.size()); }
  const float* at(size_t offset) const { return params.data() + offset; }
};

// Calls pack(convert), where convert gives the f32 value the model
// computes with: the weight itself, or the weight rounded to bfloat16. The
// precision is chosen once here, not per element, so that the packing
// loops vectorize.
template <typename Pack>
void WithEffectiveF32(const PackedWeights& packed, const Pack& pack) {
  if (packed.bf16) {
    pack(RoundedToBF16);
  } else {
    pack([](float v) { return v; });
  }
}

// The gate-column layout (forward products: K = cols) of w, in f32 and,
// with bfloat16 weights, also in pair-interleaved bfloat16.
void PackColumns(const DirectionSource& src, const float* w, int cols,
                 kernels::PackedB* f32, kernels::PackedBF16* bf16) {
  const int pw = src.pw();
  Resize(cols, src.width(), pw, f32);
  if (src.packed.bf16) {
    PackGateColumns(w, cols, src.rows, pw, RoundedToBF16, f32->data.data());
  } else {
    TransposeGateColumns(*src.packed.kernels, w, cols, src.rows, pw,
                         f32->data.data());
  }
  *bf16 = {};
  if (!src.packed.bf16) return;
  Resize(cols, src.width(), pw, bf16);
  PackGateColumns(
      w, cols, src.rows, pw, [](float v) { return kernels::RoundToBF16(v); },
      bf16->values());
  InterleavePairs(bf16);
}

// The gate-row layout (backward products: N = cols) of w.
void PackRows(const DirectionSource& src, const float* w, int cols,
              kernels::PackedB* out) {
  Resize(src.width(), cols, src.pw(), out);
  WithEffectiveF32(src.packed, [&](auto convert) {
    PackGateRows(w, cols, src.rows, src.pw(), convert, out->data.data());
  });
}

void PackBiases(const DirectionSource& src, PackedLayer* out) {
  const ParameterLayout& layout = src.layout;
  const float* b_ih = src.at(layout.bias_ih(src.layer, src.dir));
  const float* b_hh = src.at(layout.bias_hh(src.layer, src.dir));
  out->bias.assign(src.width(), 0.0f);
  for (int n = 0; n < src.width(); ++n) {
    const int row = src.rows[n];
    if (row >= 0) out->bias[n] = b_ih[row] + b_hh[row];
  }
}

// The projection h = W_hr r, W_hr [P][H]: as h = r W_hr^T (K = H, N = P)
// forward, and dr = dh W_hr (K = P, N = H) backward.
void PackProjection(const DirectionSource& src, PackedLayer* out) {
  out->w_hr = {};
  out->w_hr_rows = {};
  out->w_hr_bf16 = {};
  const int state = src.layout.state_width();
  const int hidden = src.packed.gates.hidden();
  if (state == hidden) return;
  const float* w_hr = src.at(src.layout.weight_hr(src.layer, src.dir));
  auto hr = [&](int p, int h) {
    return Effective(src.packed, w_hr[static_cast<size_t>(p) * hidden + h]);
  };
  auto hr_forward = [&](int k, int n) { return hr(n, k); };
  kernels::PackPanels(hidden, state, src.pw(), hr_forward, &out->w_hr);
  kernels::PackPanels(state, hidden, src.pw(), hr, &out->w_hr_rows);
  if (src.packed.bf16) {
    kernels::PackPanelsBF16(hidden, state, src.pw(), hr_forward,
                            &out->w_hr_bf16);
  }
}

void PackDirectionPart(const DirectionSource& src, PackPart part,
                       PackedLayer* out) {
  const ParameterLayout& layout = src.layout;
  const int in = layout.layer_input_size(src.layer);
  const int state = layout.state_width();  // P: W_hh's columns
  const float* w_ih = src.at(layout.weight_ih(src.layer, src.dir));
  const float* w_hh = src.at(layout.weight_hh(src.layer, src.dir));
  switch (part) {
    case PackPart::kInputColumns:
      PackColumns(src, w_ih, in, &out->w_ih, &out->w_ih_bf16);
      return PackBiases(src, out);
    case PackPart::kRecurrentColumns:
      return PackColumns(src, w_hh, state, &out->w_hh, &out->w_hh_bf16);
    case PackPart::kInputRows:
      return PackRows(src, w_ih, in, &out->w_ih_rows);
    case PackPart::kRecurrentRows:
      return PackRows(src, w_hh, state, &out->w_hh_rows);
    case PackPart::kProjection:
      return PackProjection(src, out);
  }
}

void PackHead(const ModelConfig& config, const ParameterLayout& layout,
              Span<const float> params, PackedWeights* packed) {
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
  if (packed->bf16) {
    kernels::PackPanelsBF16(in, out, pw, forward, &packed->head_bf16);
  }
}

}  // namespace

void PackWeights(const ModelConfig& config, const ParameterLayout& layout,
                 Span<const float> params, bool bf16, const Threads& threads,
                 PackedWeights* packed) {
  packed->kernels = &kernels::ActiveKernels();
  packed->bf16 = bf16;
  packed->tuning = ActiveTuning(*packed->kernels);
  packed->gates = GateLayout(config.hidden_size, packed->kernels->lanes);
  packed->directions = layout.directions();
  const int directions = config.num_layers * layout.directions();
  packed->layers.resize(directions);
  const std::vector<int> rows = SourceRows(packed->gates);
  packed->bottom_input_rows.Invalidate();
  // Every part of every direction, then the head, each once.
  const int parts = directions * kPackParts;
  threads.Run([&] {
    threads.For(parts + 1, [&](int task) {
      if (task == parts) return PackHead(config, layout, params, packed);
      const int index = task / kPackParts;
      const PackPart part = static_cast<PackPart>(task % kPackParts);
      if (part == PackPart::kInputRows && index < layout.directions()) return;
      const DirectionSource src{layout,
                                params,
                                *packed,
                                rows,
                                index / layout.directions(),
                                index % layout.directions()};
      PackDirectionPart(src, part, &packed->layers[index]);
    });
  });
}

void PackBottomInputRows(const ParameterLayout& layout,
                         Span<const float> params,
                         const PackedWeights& packed) {
  packed.bottom_input_rows.Fill([&](std::vector<kernels::PackedB>* rows) {
    const std::vector<int> source_rows = SourceRows(packed.gates);
    rows->resize(layout.directions());
    for (int dir = 0; dir < layout.directions(); ++dir) {
      const DirectionSource src{layout, params, packed, source_rows, 0, dir};
      PackRows(src, src.at(layout.weight_ih(0, dir)),
               layout.layer_input_size(0), &(*rows)[dir]);
    }
  });
}

BottomInputRows& BottomInputRows::operator=(const BottomInputRows& other) {
  if (this == &other) return *this;
  // The other model may be filling its rows on another thread.
  const std::lock_guard<std::mutex> lock(other.mutex_);
  rows_ = other.rows_;
  ready_.store(other.ready_.load(std::memory_order_relaxed),
               std::memory_order_relaxed);
  return *this;
}

const kernels::PackedB& BottomInputRows::rows(int dir) const {
  if (!ready_.load(std::memory_order_acquire)) {
    Fail("internal: layer 0's input rows were not packed for these weights");
  }
  return rows_[dir];
}

}  // namespace lstmkit::internal
