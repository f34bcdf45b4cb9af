// The LSTM gate tail, forward fused with the recurrent GEMM, and backward.
// Gates are gate-interleaved: panel j holds i, f, g, o of hidden units
// [j * lanes, (j + 1) * lanes), one vector each.
#if defined(LSTMKIT_SIMD_LSTM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSTMKIT_SIMD_LSTM_INL_H_
#undef LSTMKIT_SIMD_LSTM_INL_H_
#else
#define LSTMKIT_SIMD_LSTM_INL_H_
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "activations-inl.h"
#include "hwy/highway.h"
#include "kernel_parts-inl.h"
#include "kernels.h"
#include "panel_weights-inl.h"
#include "prefetch.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The first `n` floats of p, zero-filled beyond; never reads past p + n.
template <class D>
HWY_INLINE hn::Vec<D> LoadPartial(D d, const float* p, size_t n) {
  if (n >= hn::Lanes(d)) return hn::LoadU(d, p);
  HWY_ALIGN float buf[HWY_MAX_BYTES / sizeof(float)] = {};
  std::memcpy(buf, p, n * sizeof(float));
  return hn::Load(d, buf);
}

// Stores the first `n` lanes of v; never writes past p + n.
template <class D>
HWY_INLINE void StorePartial(hn::Vec<D> v, D d, float* p, size_t n) {
  if (n >= hn::Lanes(d)) return hn::StoreU(v, d, p);
  HWY_ALIGN float buf[HWY_MAX_BYTES / sizeof(float)];
  hn::Store(v, d, buf);
  std::memcpy(p, buf, n * sizeof(float));
}

// Vector registers of the target: the step kernel keeps MR x V accumulators,
// V panel vectors and a broadcast in them.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr size_t kVectorRegisters = 32;
#else
constexpr size_t kVectorRegisters = 16;
#endif

template <typename TW>
const TW* WeightPanel(const LstmStepArgs& args, int panel);
template <>
inline const float* WeightPanel<float>(const LstmStepArgs& args, int panel) {
  return args.w_hh->panel(panel);
}
template <>
inline const uint16_t* WeightPanel<uint16_t>(const LstmStepArgs& args,
                                             int panel) {
  return args.w_hh_bf16->panel(panel);
}

// Where batch row `row` keeps the pre-activations of panel `panel`.
inline float* GateRowOfPanel(const LstmStepArgs& args, int row, int panel) {
  const size_t panel_floats =
      kPanelVectors * hn::Lanes(hn::ScalableTag<float>());
  return args.gates + static_cast<size_t>(row) * args.gate_stride +
         panel * panel_floats;
}

// One batch row's vector of hidden units in one panel.
struct TailSpot {
  int row;
  int panel;
};

// The gate tails of N (row, panel) spots: c = f * c_prev + i * g and
// h = o * tanh(c). One spot's tail is a long chain of dependent operations
// (tanh(c) waits on c, which waits on three activations); N spots side by
// side give the core N independent chains to overlap. The pre-activations
// were just written and are in L1 or L2.
template <size_t N>
HWY_INLINE void LstmGateTail(const LstmStepArgs& args,
                             const TailSpot (&spots)[N]) {
  using D = hn::ScalableTag<float>;
  using Vec = hn::Vec<D>;
  const D d;
  const size_t lanes = hn::Lanes(d);
  const size_t hidden = args.hidden;
  const size_t h_stride = args.h_stride > 0 ? args.h_stride : hidden;
  Vec i[N], f[N], g[N], o[N], c[N], tanh_c[N];
#pragma GCC unroll 4
  for (size_t n = 0; n < N; ++n) {
    const float* pre = GateRowOfPanel(args, spots[n].row, spots[n].panel);
    i[n] = VecSigmoid(d, hn::LoadU(d, pre));
    f[n] = VecSigmoid(d, hn::LoadU(d, pre + lanes));
    g[n] = VecTanh(d, hn::LoadU(d, pre + 2 * lanes));
    o[n] = VecSigmoid(d, hn::LoadU(d, pre + 3 * lanes));
  }
#pragma GCC unroll 4
  for (size_t n = 0; n < N; ++n) {
    const size_t unit = spots[n].panel * lanes;
    const Vec c_prev = LoadPartial(d, args.c_prev.row(spots[n].row) + unit,
                                   std::min(lanes, hidden - unit));
    c[n] = hn::MulAdd(f[n], c_prev, hn::Mul(i[n], g[n]));
    tanh_c[n] = VecTanh(d, c[n]);
  }
#pragma GCC unroll 4
  for (size_t n = 0; n < N; ++n) {
    const size_t row = spots[n].row;
    const size_t unit = spots[n].panel * lanes;
    const size_t units = std::min(lanes, hidden - unit);
    const size_t state = row * hidden + unit;
    StorePartial(c[n], d, args.c + state, units);
    StorePartial(hn::Mul(o[n], tanh_c[n]), d, args.h + row * h_stride + unit,
                 units);
    if (args.tanh_c != nullptr) {
      StorePartial(tanh_c[n], d, args.tanh_c + state, units);
    }
    if (args.store_gates) {
      float* out = GateRowOfPanel(args, spots[n].row, spots[n].panel);
      hn::StoreU(i[n], d, out);
      hn::StoreU(f[n], d, out + lanes);
      hn::StoreU(g[n], d, out + 2 * lanes);
      hn::StoreU(o[n], d, out + 3 * lanes);
    }
  }
}

// The gate tails of rows [first, end) of one panel, in one call, two rows
// at a time. Apart from the tiles, so that the activations compile once per
// target and unit, not once per tile shape.
inline HWY_NOINLINE void LstmGateTails(const LstmStepArgs& args, int first,
                                       int end, int panel) {
  int row = first;
  for (; row + 2 <= end; row += 2) {
    LstmGateTail<2>(args, {{row, panel}, {row + 1, panel}});
  }
  for (; row < end; ++row) LstmGateTail<1>(args, {{row, panel}});
}

// The gate tails of one row across panels [first, end), four at a time:
// a batch-1 step has one row, and one panel's tail alone is one dependent
// chain that leaves most of the core idle. With each panel pair's tails
// right after its product, the batch-1 H=256 time loop took 2.22 ms
// instead of 1.90 (Zen 3, 1 thread, medians of 15 alternating runs).
inline HWY_NOINLINE void LstmRowGateTails(const LstmStepArgs& args, int row,
                                          int first, int end) {
  int panel = first;
  for (; panel + 4 <= end; panel += 4) {
    LstmGateTail<4>(
        args,
        {{row, panel}, {row, panel + 1}, {row, panel + 2}, {row, panel + 3}});
  }
  for (; panel + 2 <= end; panel += 2) {
    LstmGateTail<2>(args, {{row, panel}, {row, panel + 1}});
  }
  for (; panel < end; ++panel) LstmGateTail<1>(args, {{row, panel}});
}

// MR batch rows of one panel, gate vectors [q0, q0 + V): the recurrent
// GEMM adds h_prev W_hh^T to the pre-activations and stores the sums back
// to the gate rows.
// acc[r][v] += a[r][k] * w[k][v] over k in [0, depth), in order, with
// w's rows `panel_floats` apart.
template <size_t MR, size_t V, typename TW, class D>
HWY_INLINE void SumRowsTimesPanel(D d, const float* const (&a)[MR], const TW* w,
                                  size_t depth, size_t panel_floats,
                                  hn::Vec<D> (&acc)[MR][V]) {
  for (size_t k = 0; k < depth; ++k) {
    hn::Vec<D> wv[V];
    LoadWeights<V>(d, w, wv);
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      const hn::Vec<D> av = hn::Set(d, a[r][k]);
#pragma GCC unroll 4
      for (size_t v = 0; v < V; ++v) {
        acc[r][v] = hn::MulAdd(av, wv[v], acc[r][v]);
      }
    }
    w += panel_floats;
  }
}

template <size_t MR, size_t V, typename TW>
HWY_NOINLINE void LstmStepTile(const LstmStepArgs& args, int row, int panel,
                               size_t q0) {
  using D = hn::ScalableTag<float>;
  using Vec = hn::Vec<D>;
  const D d;
  const size_t lanes = hn::Lanes(d);
  const size_t panel_floats = kPanelVectors * lanes;
  float* gates = GateRowOfPanel(args, row, panel) + q0 * lanes;
  Vec acc[MR][V];
  if (args.x != nullptr) {
    const float* bias = args.bias + panel * panel_floats + q0 * lanes;
    const float* x[MR];
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      x[r] = args.x + static_cast<size_t>(row + r) * args.x_stride;
#pragma GCC unroll 4
      for (size_t v = 0; v < V; ++v) acc[r][v] = hn::LoadU(d, bias + v * lanes);
    }
    SumRowsTimesPanel<MR, V>(d, x, args.w_ih->panel(panel) + q0 * lanes,
                             args.w_ih->k, panel_floats, acc);
  } else {
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
      for (size_t v = 0; v < V; ++v) {
        acc[r][v] = hn::LoadU(d, gates + r * args.gate_stride + v * lanes);
      }
    }
  }
  const float* h_prev[MR];
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) h_prev[r] = args.h_prev.row(row + r);
  SumRowsTimesPanel<MR, V>(d, h_prev, WeightPanel<TW>(args, panel) + q0 * lanes,
                           args.w_hh->k, panel_floats, acc);
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (size_t v = 0; v < V; ++v) {
      hn::StoreU(acc[r][v], d, gates + r * args.gate_stride + v * lanes);
    }
  }
}

// One batch row of two adjacent panels. A one-row tile of one panel has
// four accumulator chains, too few to keep both FMA pipes busy across the
// FMA latency; two panels give eight. K is still summed in order, so the
// bits match the one-panel tile's.
template <typename TW>
HWY_NOINLINE void LstmStepRowPanelPair(const LstmStepArgs& args, int row,
                                       int panel) {
  using D = hn::ScalableTag<float>;
  using Vec = hn::Vec<D>;
  const D d;
  const size_t lanes = hn::Lanes(d);
  const size_t depth = args.w_hh->k;
  const size_t panel_floats = kPanelVectors * lanes;
  float* gates = GateRowOfPanel(args, row, panel);
  const float* h_prev = args.h_prev.row(row);
  constexpr size_t kVecs = 2 * kPanelVectors;
  Vec acc[kVecs];
#pragma GCC unroll 8
  for (size_t v = 0; v < kVecs; ++v) acc[v] = hn::LoadU(d, gates + v * lanes);
  const TW* w0 = WeightPanel<TW>(args, panel);
  const TW* w1 = WeightPanel<TW>(args, panel + 1);
  for (size_t k = 0; k < depth; ++k) {
    const Vec hv = hn::Set(d, h_prev[k]);
    Vec wv[kPanelVectors];
    LoadWeights<kPanelVectors>(d, w0 + k * panel_floats, wv);
#pragma GCC unroll 4
    for (size_t v = 0; v < kPanelVectors; ++v) {
      acc[v] = hn::MulAdd(hv, wv[v], acc[v]);
    }
    LoadWeights<kPanelVectors>(d, w1 + k * panel_floats, wv);
#pragma GCC unroll 4
    for (size_t v = 0; v < kPanelVectors; ++v) {
      acc[kPanelVectors + v] = hn::MulAdd(hv, wv[v], acc[kPanelVectors + v]);
    }
  }
#pragma GCC unroll 8
  for (size_t v = 0; v < kVecs; ++v) hn::StoreU(acc[v], d, gates + v * lanes);
}

// Gate vectors per pass for MR rows: all four when MR x 4 accumulators fit
// beside the panel vectors, else two.
constexpr size_t StepVectors(size_t mr) {
  return mr * kPanelVectors + kPanelVectors + 1 <= kVectorRegisters ? 4 : 2;
}

using StepTileFn = void (*)(const LstmStepArgs&, int, int, size_t);

// The gate vectors a tile of `rows` rows really takes when V are asked
// for. LstmStep asks for four only where StepVectors(mr) allows them, and a
// tile never has more rows than mr, so a four-vector tile with more rows is
// never called; those entries take the two-vector tile instead of
// compiling a kernel that would spill its accumulators.
constexpr size_t TileVectors(size_t rows, size_t v) {
  return v == 4 && StepVectors(rows) == 4 ? 4 : 2;
}

// Fewer rows never take fewer vectors, so a tile of the rows left at the
// end of a batch takes as many as the full tiles before it.
constexpr bool StepVectorsNeverGrowWithRows() {
  for (size_t rows = 1; rows < kMaxTileRows; ++rows) {
    if (StepVectors(rows + 1) > StepVectors(rows)) return false;
  }
  return true;
}
static_assert(StepVectorsNeverGrowWithRows(),
              "a partial tile must take the vectors of the full ones");

template <typename TW, size_t V, size_t... R>
constexpr std::array<StepTileFn, sizeof...(R)> MakeStepTiles(
    std::index_sequence<R...>) {
  return {&LstmStepTile<R + 1, TileVectors(R + 1, V), TW>...};
}

// The tiles for every row count: the two-vector tiles first, then those
// LstmStep calls when four vectors are asked for (two-vector tiles where
// that many rows cannot take four, entries it never calls).
template <typename TW>
constexpr std::array<std::array<StepTileFn, kMaxTileRows>, 2> StepTiles() {
  constexpr auto kRows = std::make_index_sequence<kMaxTileRows>();
  return {MakeStepTiles<TW, 2>(kRows), MakeStepTiles<TW, 4>(kRows)};
}

// The recurrent product of panels [first, end) for every row as GEMMs over
// W_hh's whole panel rows (one per part of h_prev's rows), adding to the
// pre-activations in order, then each panel's gate tail. The fused tiles
// read half a panel row per pass; with the GEMM's tiles a B=64 step ran at
// 63 instead of 53-56 GFLOP/s at H=512 and 61-66 instead of 58-64 at
// H=256 (Zen 3, BM_LstmStep, interleaved).
inline void LstmStepAsGemm(const LstmStepArgs& args, int first, int end) {
  const PackedPanels w = args.w_hh->Panels(first, end - first);
  float* gates = GateRowOfPanel(args, 0, first);
  const int depth = args.w_hh->k;
  const StateRows& h = args.h_prev;
  const int split = std::min(h.split, args.batch);
  if (split > 0) {
    GemmPacked(split, w.n, depth, {h.first, h.stride, 1}, w, 1.0f, gates,
               args.gate_stride, *args.gemm_blocking);
  }
  if (split < args.batch) {
    GemmPacked(args.batch - split, w.n, depth,
               {h.rest + static_cast<ptrdiff_t>(split) * h.stride, h.stride, 1},
               w, 1.0f, gates + static_cast<size_t>(split) * args.gate_stride,
               args.gate_stride, *args.gemm_blocking);
  }
  // Row by row, each across the panels: the pre-activations and c_prev
  // are then read in order. Panel by panel, each row's were 8 KiB from the
  // last (H = 512), out of reach of the prefetchers, and with W_hh just
  // streamed through L2 every one of them waited on L3.
  for (int row = 0; row < args.batch; row += 2) {
    const int rows_end = std::min(row + 2, args.batch);
    for (int panel = first; panel < end; ++panel) {
      LstmGateTails(args, row, rows_end, panel);
    }
  }
}

// The step over panels [panel, end) with the fused tiles, for weights of
// type TW.
template <typename TW>
void LstmStepTiles(const LstmStepArgs& args, int panel, int end) {
  static constexpr auto kTiles = StepTiles<TW>();
  const size_t vectors = StepVectors(args.mr);
  const auto& tiles = kTiles[vectors == 4 ? 1 : 0];
  if (args.batch == 1 && args.x == nullptr) {
    const int pairs = (end - panel) / 2;
    for (int i = 0; i < pairs; ++i) {
      const int pair = args.reverse_panels ? pairs - 1 - i : i;
      LstmStepRowPanelPair<TW>(args, 0, panel + 2 * pair);
    }
    LstmRowGateTails(args, 0, panel, panel + 2 * pairs);
    panel += 2 * pairs;
  }
  // Panels outside, then one pass of gate vectors at a time over every row
  // tile: that part of the panel (H x V vectors) stays in L1 while all the
  // rows use it; the whole panel would not beside the rows' h_prev. The
  // gate tail follows once all four gates of the panel are summed.
  // Each tile asks for the next one's pre-activations, which the input
  // projection wrote long before (tens of MB at B = 64): on Zen 5, B = 64
  // inference ran 4-7 % faster with it.
  // The rows are shared out evenly among the fewest tiles of at most mr
  // rows: 32 rows as 6, 6, 5, 5, 5, 5 rather than five tiles of 6 and one
  // of 2, whose eight accumulators leave the FMA pipes half idle.
  const size_t lanes = hn::Lanes(hn::ScalableTag<float>());
  const int row_tiles = (args.batch + args.mr - 1) / args.mr;
  auto tile_row = [&](int tile) {
    return static_cast<int>(static_cast<long>(args.batch) * tile / row_tiles);
  };
  for (; panel < end; ++panel) {
    for (size_t q0 = 0; q0 < kPanelVectors; q0 += vectors) {
      for (int tile = 0; tile < row_tiles; ++tile) {
        const int row = tile_row(tile), next = tile_row(tile + 1);
        if (tile + 1 < row_tiles) {
          PrefetchTileOfC(GateRowOfPanel(args, next, panel) + q0 * lanes,
                          args.gate_stride, tile_row(tile + 2) - next,
                          vectors * lanes);
        }
        tiles[next - row - 1](args, row, panel, q0);
      }
    }
    LstmGateTails(args, 0, args.batch, panel);
  }
}

inline void LstmStep(const LstmStepArgs& args) {
  // mr indexes the tile tables; zero would also never advance a row.
  if (args.mr < 1 || args.mr > kMaxTileRows) {
    HWY_ABORT("LstmStepArgs::mr = %d is outside [1, %d]", args.mr,
              kMaxTileRows);
  }
  if (args.x != nullptr &&
      (args.w_hh_bf16 != nullptr || args.gemm_blocking != nullptr)) {
    HWY_ABORT("LstmStepArgs::x is for f32 weights and the fused tiles only");
  }
  const int first = args.first_panel;
  const int end =
      args.panel_count < 0 ? args.w_hh->panels() : first + args.panel_count;
  if (args.w_hh_bf16 != nullptr) return LstmStepBF16Weights(args, first, end);
  if (args.gemm_blocking != nullptr && args.batch >= kMinRowsForStepGemm) {
    return LstmStepAsGemm(args, first, end);
  }
  LstmStepTiles<float>(args, first, end);
}

inline void LstmCellBackward(const LstmCellBackwardArgs& args) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const size_t hidden = args.hidden;
  const auto one = hn::Set(d, 1.0f);
  const size_t panel_floats = kPanelVectors * lanes;
  const size_t panels = (hidden + lanes - 1) / lanes;
  const size_t first = args.first_panel;
  const size_t end = args.panel_count < 0 ? panels : first + args.panel_count;
  const size_t above_stride =
      args.dh_above_stride > 0 ? args.dh_above_stride : hidden;
  for (int b = 0; b < args.batch; ++b) {
    const size_t row = static_cast<size_t>(b) * args.gate_stride;
    const float* gates = args.gates + row + first * panel_floats;
    float* d_gates = args.d_gates + row + first * panel_floats;
    for (size_t unit = first * lanes; unit < end * lanes; unit += lanes) {
      const size_t n = std::min(lanes, hidden - unit);
      const size_t s = b * hidden + unit;
      const float* above = args.dh_above + b * above_stride + unit;
      const auto i = hn::LoadU(d, gates);
      const auto f = hn::LoadU(d, gates + lanes);
      const auto g = hn::LoadU(d, gates + 2 * lanes);
      const auto o = hn::LoadU(d, gates + 3 * lanes);
      const auto tc = LoadPartial(d, args.tanh_c + s, n);
      const auto dh = args.dh_recurrent == nullptr
                          ? LoadPartial(d, above, n)
                          : hn::Add(LoadPartial(d, above, n),
                                    LoadPartial(d, args.dh_recurrent + s, n));
      const auto dh_o = hn::Mul(dh, o);
      const auto dc = hn::Add(hn::Mul(dh_o, hn::Sub(one, hn::Mul(tc, tc))),
                              LoadPartial(d, args.dc_carry + s, n));
      const auto d_i = hn::Mul(hn::Mul(dc, g), hn::Mul(i, hn::Sub(one, i)));
      const auto c_prev = LoadPartial(d, args.c_prev.row(b) + unit, n);
      const auto d_f =
          hn::Mul(hn::Mul(dc, c_prev), hn::Mul(f, hn::Sub(one, f)));
      const auto d_g = hn::Mul(hn::Mul(dc, i), hn::Sub(one, hn::Mul(g, g)));
      const auto d_o = hn::Mul(hn::Mul(dh, tc), hn::Mul(o, hn::Sub(one, o)));
      hn::StoreU(d_i, d, d_gates);
      hn::StoreU(d_f, d, d_gates + lanes);
      hn::StoreU(d_g, d, d_gates + 2 * lanes);
      hn::StoreU(d_o, d, d_gates + 3 * lanes);
      StorePartial(hn::Mul(dc, f), d, args.dc_carry + s, n);
      gates += kPanelVectors * lanes;
      d_gates += kPanelVectors * lanes;
    }
  }
}

inline void SigmoidArray(const float* in, float* out, size_t n) {
  const hn::ScalableTag<float> d;
  for (size_t i = 0; i < n; i += hn::Lanes(d)) {
    const size_t count = std::min(hn::Lanes(d), n - i);
    StorePartial(VecSigmoid(d, LoadPartial(d, in + i, count)), d, out + i,
                 count);
  }
}

inline void TanhArray(const float* in, float* out, size_t n) {
  const hn::ScalableTag<float> d;
  for (size_t i = 0; i < n; i += hn::Lanes(d)) {
    const size_t count = std::min(hn::Lanes(d), n - i);
    StorePartial(VecTanh(d, LoadPartial(d, in + i, count)), d, out + i, count);
  }
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_LSTM_INL_H_
