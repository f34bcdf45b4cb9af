// The compute kernels behind the model, as a plain C++ interface; the
// Highway code for each target lives in the *-inl.h files. Matrices are
// row-major unless a stride says otherwise.
#ifndef LSTMKIT_SIMD_KERNELS_H_
#define LSTMKIT_SIMD_KERNELS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "aligned_buffer.h"
#include "update_rule.h"

namespace lstmkit::kernels {

// B operands are packed in panels of this many vectors of columns: one
// panel of a gate-interleaved weight matrix holds i, f, g, o of `lanes`
// hidden units, one vector each.
constexpr int kPanelVectors = 4;
constexpr int kMaxTileRows = 8;

// Loop blocking of the GEMMs; every field is chosen at run time.
struct Blocking {
  int mr = 0;  // rows of C per micro-tile, 1..kMaxTileRows
  int nr = 0;  // vectors of C columns per micro-tile: 1, 2 or 4
  int kc = 0;  // depth of one pass over K
  int mc = 0;  // rows of A per block
  int nc = 0;  // columns of B per block, a multiple of the panel width
};

// Operand A, logically [M][K]: element (m, k) is at
// data[m * row_stride + k * col_stride]. Covers A and A^T. With a row_map,
// row m is the stored row row_map[m] instead, so that C comes out in the
// order its caller wants without copying it afterwards.
struct MatrixA {
  const float* data = nullptr;
  ptrdiff_t row_stride = 0;
  ptrdiff_t col_stride = 1;
  const int* row_map = nullptr;

  // Where row m's element k = 0 is stored.
  const float* row(int m) const {
    return data + (row_map ? row_map[m] : m) * row_stride;
  }
};

// Operand B, logically [K][N]: element (k, n) is at
// data[k * k_stride + n * n_stride]. Covers B and B^T.
struct MatrixB {
  const float* data = nullptr;
  ptrdiff_t k_stride = 0;
  ptrdiff_t n_stride = 1;
};

// Operand B [K][N] packed once (weights): panels of panel_width columns,
// each [K][panel_width] row-major, the last zero-padded.
// A run of consecutive panels of a packed B: columns [first, first + n) of
// B as a matrix of its own, first being a multiple of panel_width. Lets
// threads each take a block of output columns.
template <typename T>
struct PanelView {
  const T* data = nullptr;  // the first panel
  int k = 0;
  int n = 0;
  int panel_width = 0;

  int panels() const { return (n + panel_width - 1) / panel_width; }
  const T* panel(int p) const {
    return data + static_cast<size_t>(p) * k * panel_width;
  }
  // Panels [first_panel, first_panel + count), clipped to the columns.
  PanelView Panels(int first_panel, int count) const {
    const int first_col = first_panel * panel_width;
    const int cols = std::min(n - first_col, count * panel_width);
    return {panel(first_panel), k, std::max(cols, 0), panel_width};
  }
};
using PackedPanels = PanelView<float>;

struct PackedB {
  int k = 0;
  int n = 0;
  int panel_width = 0;
  AlignedBuffer data;

  int panels() const { return (n + panel_width - 1) / panel_width; }
  const float* panel(int p) const {
    return data.data() + static_cast<size_t>(p) * k * panel_width;
  }
  // Panels [first_panel, first_panel + count), clipped to B's columns.
  PackedPanels Panels(int first_panel, int count) const {
    return PackedPanels(*this).Panels(first_panel, count);
  }
  operator PackedPanels() const {  // NOLINT: every panel, implicitly
    return {data.data(), k, n, panel_width};
  }
};

// One product of gemm_shared_a: C[M][n] = A * B, C overwritten. B is
// either packed ahead (`packed`, when its data is set) or read from `b`
// and packed block by block during the call, in panels one tile wide.
struct SharedAProduct {
  PackedPanels packed;
  MatrixB b;
  int n = 0;
  float* c = nullptr;
  int ldc = 0;
};

constexpr int kMaxSharedAProducts = 4;

// bfloat16 bits of x, rounded to nearest, ties to even (a plain truncation,
// which Highway's DemoteTo does, would bias every weight toward zero). NaN
// stays NaN.
inline uint16_t RoundToBF16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (bits >> 16) | 0x0040u;
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

inline float WidenBF16(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float x;
  std::memcpy(&x, &wide, sizeof(x));
  return x;
}

// Panels of bfloat16 weights: half the bytes to read in the batch-1
// kernels, which are bound by how fast weights arrive. Laid out as PackedB
// except within each k row of a panel: the panel's vectors are taken in
// pairs (0 and 1, 2 and 3) and each pair's lanes are interleaved, v0[0],
// v1[0], v0[1], v1[1], ... Two masked 32-bit-lane loads, one of them two
// bytes early, then widen a pair into two f32 vectors (see LoadWeights), so
// the kernels read the two bytes before every pair, the panels' first too.
using PackedPanelsBF16 = PanelView<uint16_t>;

// The storage of PackedPanelsBF16: its values after one cache line of
// zeros, which the kernels' early loads of the first pair read.
class PackedBF16 {
 public:
  int k = 0;
  int n = 0;
  int panel_width = 0;

  // Contents are unspecified after a size change, except the leading line.
  void Resize(size_t values) {
    storage_.Resize(values == 0 ? 0 : kLeadingValues + values);
    std::fill_n(storage_.data(), values == 0 ? 0 : kLeadingValues, 0);
  }
  uint16_t* values() { return storage_.data() + Lead(); }
  const uint16_t* values() const { return storage_.data() + Lead(); }
  size_t size() const { return storage_.size() - Lead(); }

  int panels() const { return (n + panel_width - 1) / panel_width; }
  const uint16_t* panel(int p) const {
    return values() + static_cast<size_t>(p) * k * panel_width;
  }
  PackedPanelsBF16 Panels(int first_panel, int count) const {
    return PackedPanelsBF16{values(), k, n, panel_width}.Panels(first_panel,
                                                                count);
  }

 private:
  static constexpr size_t kLeadingValues = 64 / sizeof(uint16_t);
  size_t Lead() const { return storage_.size() == 0 ? 0 : kLeadingValues; }

  AlignedArray<uint16_t> storage_;
};

// One forward step of an LSTM layer for a batch, fused: the recurrent GEMM
// for one panel (i, f, g, o of `lanes` units) is followed, still in
// registers, by the gate tail.
// Rows of the previous state: row b < split is first + b * stride, the
// rest come from rest + b * stride. A reverse direction over sequences of
// different lengths needs this: at the step where a sequence ends, its
// reverse pass starts from its initial state while the others continue.
struct StateRows {
  const float* first = nullptr;
  const float* rest = nullptr;
  int split = 1 << 30;
  int stride = 0;

  static StateRows Contiguous(const float* rows, int stride) {
    return {rows, nullptr, 1 << 30, stride};
  }
  const float* row(int b) const {
    return (b < split ? first : rest) + static_cast<ptrdiff_t>(b) * stride;
  }
};

struct LstmStepArgs {
  int batch = 0;
  int hidden = 0;                 // H: units; the GEMM's depth is w_hh->k
  StateRows h_prev;               // B rows of w_hh->k values
  const PackedB* w_hh = nullptr;  // K = P, N = 4H gate-interleaved, padded
  // When set, W_hh is read from these bfloat16 panels instead (the same
  // values: w_hh then holds them rounded).
  const PackedBF16* w_hh_bf16 = nullptr;
  // The panels (groups of `lanes` hidden units) this call computes; the
  // rest of c, h and gates is left alone. -1: through the last panel.
  int first_panel = 0;
  int panel_count = -1;
  // Batch 1: walk the panels last to first. Alternated from step to step,
  // the panels a step reads last are the next step's first, still in L2
  // when the weights are larger than L2 (the order of panels changes no
  // sum).
  bool reverse_panels = false;
  // [B][gate_stride]: in, the input projection plus bias (pre-activations,
  // gate-interleaved), unless x is set; out, the activations when
  // store_gates, otherwise scratch.
  float* gates = nullptr;
  int gate_stride = 0;
  bool store_gates = true;
  StateRows c_prev;         // B rows of H values
  float* c = nullptr;       // [B][H]
  float* h = nullptr;       // B rows of H values, h_stride apart
  int h_stride = 0;         // 0: H
  float* tanh_c = nullptr;  // [B][H], or null when not needed
  int mr = 1;               // rows per tile
  // When set, batches of kMinRowsForStepGemm rows or more take the
  // recurrent product as gemm_packed with this blocking, then the gate
  // tails; the same sums in the same order, so the same bits. Callers set
  // it where KernelTable::step_as_gemm says it pays.
  const Blocking* gemm_blocking = nullptr;
  // When set, the step takes its input projection itself: each tile starts
  // from `bias` (gate-interleaved, padded) and sums x W_ih^T over K =
  // w_ih->k in order before W_hh, as the GEMM over every step would, so the
  // same bits; gates is then only written. B rows of x, x_stride apart.
  // f32 weights and the fused tiles only (not with w_hh_bf16 or
  // gemm_blocking).
  const float* x = nullptr;
  int x_stride = 0;
  const PackedB* w_ih = nullptr;
  const float* bias = nullptr;
};

constexpr int kMinRowsForStepGemm = 16;

// The gate tail backward for one step: from dL/dh (dh_above + dh_recurrent)
// and dc_carry = dL/dc_t from step t+1 to d_gates (gate-interleaved, padded
// units zero) and dc_carry = dL/dc_{t-1}.
struct LstmCellBackwardArgs {
  int batch = 0;
  int hidden = 0;
  const float* gates = nullptr;  // activations, [B][gate_stride]
  int gate_stride = 0;
  StateRows c_prev;                     // B rows of H values
  const float* tanh_c = nullptr;        // [B][H]
  const float* dh_above = nullptr;      // B rows, dh_above_stride apart
  int dh_above_stride = 0;              // 0: H
  const float* dh_recurrent = nullptr;  // [B][H], or null for none
  float* dc_carry = nullptr;            // [B][H], in and out
  float* d_gates = nullptr;             // [B][gate_stride]
  // The panels of hidden units this call computes; -1: through the last.
  int first_panel = 0;
  int panel_count = -1;
};

// The kernels compiled for one Highway target.
struct KernelTable {
  const char* name = nullptr;
  int64_t target = 0;
  int lanes = 0;  // floats per vector; also hidden units per panel

  // C[M][N] = beta * C + A * B with B packed once. beta is 0 or 1; C is
  // overwritten (not scaled) when beta is 0.
  void (*gemm_packed)(int m, int n, int k, MatrixA a, const PackedPanels& b,
                      float beta, float* c, int ldc, const Blocking& blocking);
  // C[M][N] = row_init + A * B: every row of C starts at row_init[0..N),
  // bitwise equal to filling C with it and calling gemm_packed with beta 1,
  // without writing C before the product or reading it back.
  void (*gemm_packed_row_init)(int m, int n, int k, MatrixA a,
                               const PackedPanels& b, const float* row_init,
                               float* c, int ldc, const Blocking& blocking);
  // The same with B packed block by block during the call.
  void (*gemm)(int m, int n, int k, MatrixA a, MatrixB b, float beta, float* c,
               int ldc, const Blocking& blocking);
  // C_q = A * B_q for up to kMaxSharedAProducts products that share A,
  // each block of A packed once for all of them; bitwise equal to
  // gemm_packed (or gemm) with beta 0 on each product alone.
  void (*gemm_shared_a)(int m, int k, MatrixA a, const SharedAProduct* products,
                        int count, const Blocking& blocking);
  // Packs B[pc..pc+kc)[jc..jc+n_cols) into panels of pw columns, each
  // [kc][pw] and zero-padded, one after another from `out`: the layout of
  // PackedB with k = kc.
  void (*pack_b)(MatrixB b, int pc, int kc, int jc, int n_cols, int pw,
                 float* out);
  // y[N] = y_init + x[K] * B, bitwise equal to gemm_packed_row_init with
  // M = 1. A null y_init starts from zero; y_init may be y itself.
  void (*gemv_packed)(int n, int k, const float* x, const PackedPanels& b,
                      const float* y_init, float* y);
  // The same with bfloat16 B, widened exactly to f32 before each FMA.
  void (*gemv_packed_bf16)(int n, int k, const float* x,
                           const PackedPanelsBF16& b, const float* y_init,
                           float* y);
  // out[k * out_stride + j] = rows[j][k] for j < count, k < cols; a null
  // row gives zeros. For repacking weights into panels.
  void (*transpose_rows)(const float* const* rows, int count, int cols,
                         float* out, int out_stride);
  void (*lstm_step)(const LstmStepArgs& args);
  // Whether a step of kMinRowsForStepGemm rows or more runs faster with its
  // recurrent product as a GEMM (LstmStepArgs::gemm_blocking) than with
  // the fused tiles: with 16 vector registers a fused tile holds two of a
  // panel's four gate vectors, and the GEMM won (Zen 3, AVX2); with 32 it
  // holds all four for 6 rows, and the fused tiles won by 11-14 % per step
  // at B = 64 (Zen 5, AVX-512).
  bool step_as_gemm = true;
  void (*lstm_cell_backward)(const LstmCellBackwardArgs& args);
  void (*sigmoid)(const float* in, float* out, size_t n);
  void (*tanh)(const float* in, float* out, size_t n);
  // Whether `rule` leaves every one of n parameters finite (neither
  // infinite nor NaN); writes nothing. `first` is the SGD velocity or
  // Adam's first moment (null for SGD without momentum), `second` Adam's
  // second moment (null for SGD).
  bool (*update_is_finite)(const UpdateRule& rule, const float* grad,
                           const float* param, const float* first,
                           const float* second, size_t n);
  // Applies `rule` in place, every element bitwise equal to UpdateOne.
  void (*apply_update)(const UpdateRule& rule, const float* grad, float* param,
                       float* first, float* second, size_t n);
};

// Every target compiled in that this CPU supports, in no particular order.
std::vector<const KernelTable*> SupportedKernelTables();
// Every target compiled in and supported by this CPU, best first.
const std::vector<const KernelTable*>& AvailableKernels();
// The kernels in use: the best available, or what LSTMKIT_TARGET or
// SelectKernels chose.
const KernelTable& ActiveKernels();
// The kernels for a value of LSTMKIT_TARGET: the named target when it is
// available, otherwise (null, empty, unknown; the last with a warning on
// stderr) the best one.
const KernelTable* KernelsForSetting(const char* setting);
// Selects a target by name (case-insensitive, e.g. "AVX2"); returns false
// when it is unknown or not available here.
bool SelectKernels(const std::string& name);

// Data cache sizes in bytes, with the defaults used where nothing reports
// a level.
struct CacheSizes {
  size_t l1d = 32 * 1024;
  size_t l2 = 512 * 1024;
  size_t l3 = 0;
};
// This CPU's caches: sysfs's sizes, else the C library's, else the
// defaults above, level by level.
const CacheSizes& Caches();
// Each level of `sysfs` where it is known (non-zero), else of `libc`, else
// the default.
CacheSizes MergeCacheSizes(const CacheSizes& sysfs, const CacheSizes& libc);

// Blocking derived from this CPU's cache sizes, for a kernel table: for
// gemm, which packs B in panels one tile wide.
Blocking DefaultBlocking(const KernelTable& kernels);
// The same for gemm_packed, over B packed ahead in kPanelVectors-wide
// panels.
Blocking DefaultPackedBlocking(const KernelTable& kernels);
// kc for a B micro-panel that streams from L2 rather than sitting in L1:
// an eighth of L2 deep, at most 512 rows of b_row_bytes.
int DeepDepth(size_t b_row_bytes);
// Candidate tile shapes (mr, nr) a tuner may choose from for a target.
std::vector<Blocking> TileCandidates(const KernelTable& kernels);

// Reorders k rows of bfloat16 panels, `size` values in all, given in plain
// column order (panel_width = kPanelVectors vectors per row), into the
// pair-interleaved order of PackedPanelsBF16.
inline void InterleaveBF16Pairs(uint16_t* rows, size_t size, int panel_width) {
  const int lanes = panel_width / kPanelVectors;
  std::vector<uint16_t> plain(panel_width);
  for (uint16_t* row = rows; row < rows + size; row += panel_width) {
    std::copy(row, row + panel_width, plain.begin());
    for (int pair = 0; pair < kPanelVectors / 2; ++pair) {
      const uint16_t* first = plain.data() + 2 * pair * lanes;
      const uint16_t* second = first + lanes;
      uint16_t* out = row + 2 * pair * lanes;
      for (int j = 0; j < lanes; ++j) {
        out[2 * j] = first[j];
        out[2 * j + 1] = second[j];
      }
    }
  }
}

// Packs B [K][N] as bfloat16 panels, rounding each element.
template <class Get>
void PackPanelsBF16(int k, int n, int panel_width, Get get, PackedBF16* out) {
  out->k = k;
  out->n = n;
  out->panel_width = panel_width;
  out->Resize(static_cast<size_t>(out->panels()) * k * panel_width);
  uint16_t* dst = out->values();
  for (int p = 0; p < out->panels(); ++p) {
    for (int kk = 0; kk < k; ++kk) {
      for (int j = 0; j < panel_width; ++j) {
        const int col = p * panel_width + j;
        *dst++ = col < n ? RoundToBF16(get(kk, col)) : 0;
      }
    }
  }
  InterleaveBF16Pairs(out->values(), out->size(), panel_width);
}

// Packs B [K][N] with an element getter; get(k, n) returns B's element.
template <class Get>
void PackPanels(int k, int n, int panel_width, Get get, PackedB* out) {
  out->k = k;
  out->n = n;
  out->panel_width = panel_width;
  out->data.Resize(static_cast<size_t>(out->panels()) * k * panel_width);
  float* dst = out->data.data();
  for (int p = 0; p < out->panels(); ++p) {
    for (int kk = 0; kk < k; ++kk) {
      for (int j = 0; j < panel_width; ++j) {
        const int col = p * panel_width + j;
        *dst++ = col < n ? get(kk, col) : 0.0f;
      }
    }
  }
}

}  // namespace lstmkit::kernels

#endif  // LSTMKIT_SIMD_KERNELS_H_
