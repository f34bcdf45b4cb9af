// Register-tiled, cache-blocked f32 GEMM in broadcast form: every output
// lane sums its K products in order with one fused multiply-add each, so the
// result does not depend on the tile or block sizes.
#if defined(LSTMKIT_SIMD_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSTMKIT_SIMD_GEMM_INL_H_
#undef LSTMKIT_SIMD_GEMM_INL_H_
#else
#define LSTMKIT_SIMD_GEMM_INL_H_
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "hwy/highway.h"
#include "kernels.h"
#include "panel_weights-inl.h"
#include "prefetch.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Where the micro-tile reads its B rows: row p of the tile starts at
// data + p * stride.
struct PanelSlice {
  const float* data;
  size_t stride;
};

// Where a micro-tile's sums start: C itself (load_c), or every row at
// row_init (the tile's columns of it), or zero.
struct TileStart {
  bool load_c;
  const float* row_init;
};

// C[MR][NR vectors] (+)= A * B over kc. With kPackedA, a[0] is A packed
// as [kc][MR]; otherwise a[r] is row r of a row-major A, read in place. Only
// `rows` x `cols` of the tile are stored; edge tiles run on a local copy of
// C so that no vector reaches past the end of a row.
template <size_t MR, size_t NR, bool kPackedA>
HWY_NOINLINE void MicroTile(size_t kc, const float* const* a, PanelSlice b,
                            float* HWY_RESTRICT c, size_t ldc, TileStart start,
                            size_t rows, size_t cols) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  const bool full = rows == MR && cols == NR * lanes;
  HWY_ALIGN float edge[MR * NR * HWY_MAX_BYTES / sizeof(float)];
  float* tile = c;
  size_t tile_ld = ldc;
  const float* init = start.row_init;
  if (!full) {
    tile = edge;
    tile_ld = NR * lanes;
    for (size_t r = 0; r < MR; ++r) {
      for (size_t j = 0; j < NR * lanes; ++j) {
        float value = 0.0f;
        if (r < rows && j < cols) {
          value = start.load_c ? c[r * ldc + j] : init ? init[j] : 0.0f;
        }
        edge[r * tile_ld + j] = value;
      }
    }
  }
  // An edge tile's local copy already holds its start values.
  const bool from_tile = start.load_c || !full;
  VF acc[MR][NR];
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (size_t v = 0; v < NR; ++v) {
      acc[r][v] = from_tile ? hn::LoadU(d, tile + r * tile_ld + v * lanes)
                  : init    ? hn::LoadU(d, init + v * lanes)
                            : hn::Zero(d);
    }
  }
  const float* HWY_RESTRICT packed = a[0];
  const float* a_rows[MR];
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) a_rows[r] = kPackedA ? nullptr : a[r];
  const float* b_row = b.data;
  for (size_t p = 0; p < kc; ++p) {
    VF bv[NR];
#pragma GCC unroll 4
    for (size_t v = 0; v < NR; ++v) bv[v] = hn::LoadU(d, b_row + v * lanes);
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      const VF av = hn::Set(d, kPackedA ? packed[r] : a_rows[r][p]);
#pragma GCC unroll 4
      for (size_t v = 0; v < NR; ++v) {
        acc[r][v] = hn::MulAdd(av, bv[v], acc[r][v]);
      }
    }
    if (kPackedA) packed += MR;
    b_row += b.stride;
  }
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (size_t v = 0; v < NR; ++v) {
      hn::StoreU(acc[r][v], d, tile + r * tile_ld + v * lanes);
    }
  }
  if (!full) {
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(c + r * ldc, edge + r * tile_ld, cols * sizeof(float));
    }
  }
}

using MicroTileFn = void (*)(size_t, const float* const*, PanelSlice, float*,
                             size_t, TileStart, size_t, size_t);

template <size_t NR, bool kPackedA, size_t... R>
constexpr std::array<MicroTileFn, sizeof...(R)> MakeRowTable(
    std::index_sequence<R...>) {
  return {&MicroTile<R + 1, NR, kPackedA>...};
}

template <bool kPackedA>
inline MicroTileFn SelectMicroTileOf(int mr, int nr) {
  static constexpr auto kRows = std::make_index_sequence<kMaxTileRows>();
  static constexpr auto k1 = MakeRowTable<1, kPackedA>(kRows);
  static constexpr auto k2 = MakeRowTable<2, kPackedA>(kRows);
  static constexpr auto k4 = MakeRowTable<4, kPackedA>(kRows);
  const auto& table = nr == 1 ? k1 : nr == 2 ? k2 : k4;
  return table[mr - 1];
}

inline MicroTileFn SelectMicroTile(int mr, int nr, bool packed_a) {
  return packed_a ? SelectMicroTileOf<true>(mr, nr)
                  : SelectMicroTileOf<false>(mr, nr);
}

// Packs a column-major A (A^T stored, as for A^T B), rows
// [m_begin..m_end) and k in [pc..pc+kc), into panels of MR rows. Each k
// gives MR consecutive floats of one stored row to every panel. k walks in
// chunks of kPackDepthChunk, and panel by panel within a chunk, so that each
// panel is written in one contiguous run:
// - walking k outermost writes 24 bytes to every panel in turn; panels are
//   kc * MR floats apart (6 KiB by default), so the lines being written fall
//   in two of L1's 64 sets and evict each other;
// - walking panel by panel over many k reads that many stored rows a whole
//   row apart, and rows 4 KiB apart share one L1 set.
// Eight rows fill the eight ways of one set. On a 1024 x 6400 A this packs
// twice as fast as walking k outermost; chunks of 4 or 6 rows tie with it,
// and chunks of 12 to 32 are slower at M = 1024 and 2048.
constexpr int kPackDepthChunk = 8;

// `depth` k steps, from column k0, of the panel whose first row is A's row
// m0: MR floats (`rows` of them real, the rest zero) per k.
template <size_t MR>
void PackColumnMajorChunk(MatrixA a, int m0, int rows, int k0, int depth,
                          float* HWY_RESTRICT dst) {
  if (rows == static_cast<int>(MR) && a.row_stride == 1 && !a.row_map) {
    const float* src = a.row(m0) + k0 * a.col_stride;
    for (int p = 0; p < depth; ++p) {
      std::memcpy(dst, src, MR * sizeof(float));
      src += a.col_stride;
      dst += MR;
    }
    return;
  }
  // Each row's offset from the first: a mapped row is anywhere.
  const float* first = a.row(m0) + k0 * a.col_stride;
  ptrdiff_t offset[MR] = {};
  for (int r = 1; r < rows; ++r) offset[r] = a.row(m0 + r) - a.row(m0);
  if (rows == static_cast<int>(MR)) {
    for (int p = 0; p < depth; ++p) {
#pragma GCC unroll 8
      for (size_t r = 0; r < MR; ++r) dst[r] = first[offset[r]];
      first += a.col_stride;
      dst += MR;
    }
    return;
  }
  for (int p = 0; p < depth; ++p) {
    for (size_t r = 0; r < MR; ++r) {
      dst[r] = static_cast<int>(r) < rows ? first[offset[r]] : 0.0f;
    }
    first += a.col_stride;
    dst += MR;
  }
}

template <size_t MR>
void PackColumnMajorA(MatrixA a, int m_begin, int m_end, int pc, int kc,
                      float* HWY_RESTRICT out) {
  const int m = m_end - m_begin;
  const int panels = (m + static_cast<int>(MR) - 1) / static_cast<int>(MR);
  const size_t panel_floats = static_cast<size_t>(kc) * MR;
  for (int p0 = 0; p0 < kc; p0 += kPackDepthChunk) {
    const int depth = std::min(kPackDepthChunk, kc - p0);
    for (int q = 0; q < panels; ++q) {
      const int rows =
          std::min(static_cast<int>(MR), m - q * static_cast<int>(MR));
      PackColumnMajorChunk<MR>(a, m_begin + q * static_cast<int>(MR), rows,
                               pc + p0, depth,
                               out + q * panel_floats + p0 * MR);
    }
  }
}

using PackColumnMajorFn = void (*)(MatrixA, int, int, int, int, float*);

template <size_t... R>
constexpr std::array<PackColumnMajorFn, sizeof...(R)> MakePackTable(
    std::index_sequence<R...>) {
  return {&PackColumnMajorA<R + 1>...};
}

// Packs A[m_begin..m_end)[pc..pc+kc) of a column-major A into panels of mr
// rows, each [kc][mr], zero-padded to a whole panel. A row-major A is read
// in place (ReadsAInPlace).
inline void PackA(MatrixA a, int m_begin, int m_end, int pc, int kc, int mr,
                  float* out) {
  static constexpr auto kPack =
      MakePackTable(std::make_index_sequence<kMaxTileRows>());
  kPack[mr - 1](a, m_begin, m_end, pc, kc, out);
}

// Copies `count` floats, a whole number of vectors, to an aligned `dst`.
// For the one-tile-wide rows of packing, a libc memcpy call costs more than
// the row itself.
inline void CopyWholeVectors(const float* HWY_RESTRICT src, int count,
                             float* HWY_RESTRICT dst) {
  const DF d;
  for (int j = 0; j < count; j += static_cast<int>(hn::Lanes(d))) {
    hn::Store(hn::LoadU(d, src + j), d, dst + j);
  }
}

// Packs B[pc..pc+kc)[jc..jc+n_cols) into panels of `pw` columns, each
// [kc][pw], zero-padded.
inline void PackB(MatrixB b, int pc, int kc, int jc, int n_cols, int pw,
                  float* out) {
  for (int j0 = 0; j0 < n_cols; j0 += pw) {
    const int width = std::min(pw, n_cols - j0);
    for (int p = 0; p < kc; ++p) {
      const float* src =
          b.data + (pc + p) * b.k_stride + (jc + j0) * b.n_stride;
      if (b.n_stride == 1 && width == pw) {
        CopyWholeVectors(src, pw, out);
      } else if (b.n_stride == 1) {
        std::memcpy(out, src, width * sizeof(float));
      } else {
        for (int j = 0; j < width; ++j) out[j] = src[j * b.n_stride];
      }
      std::fill(out + width, out + pw, 0.0f);
      out += pw;
    }
  }
}

// B for one (kc x nc) block: panel j of the block starts at
// base + j * panel_stride, its rows panel_width apart.
struct BlockB {
  const float* base;
  size_t panel_stride;
  int panel_width;
};

// Scratch for packed A blocks, reused across calls on a thread.
inline float* PackBufferA(size_t size) {
  static thread_local AlignedBuffer buffer;
  if (buffer.size() < size) buffer.Resize(size);
  return buffer.data();
}

// Scratch for one B slice, reused across calls on a thread.
inline float* SliceBufferB(size_t size) {
  static thread_local AlignedBuffer buffer;
  if (buffer.size() < size) buffer.Resize(size);
  return buffer.data();
}

// The kc x tile_cols slice of B that a column of tiles reads. A tile
// narrower than its panel would touch only part of each of kc cache lines,
// and those lines fall in a fraction of L1's sets, so A and C evict them
// between tiles; a contiguous copy stays in L1 across every row tile.
// Few row tiles (a small batch) do not repay the copy.
constexpr int kMinRowTilesForSliceCopy = 16;

inline PanelSlice TileSliceOfB(const BlockB& b, int jr, int kc, int tile_cols,
                               int row_tiles, float* buffer) {
  const int panel = jr / b.panel_width;
  const float* src = b.base + panel * b.panel_stride + jr % b.panel_width;
  if (tile_cols == b.panel_width || row_tiles < kMinRowTilesForSliceCopy) {
    return {src, static_cast<size_t>(b.panel_width)};
  }
  float* dst = buffer;
  for (int p = 0; p < kc; ++p) {
    CopyWholeVectors(src, tile_cols, dst);
    src += b.panel_width;
    dst += tile_cols;
  }
  return {buffer, static_cast<size_t>(tile_cols)};
}

// Asks L2 for part `part` of `parts` of `floats` contiguous floats: the B
// panel the next column of tiles will read, spread over the row tiles of
// the current one. Weights larger than L2 (W_hh at H = 512 is 4 MB) come
// from L3, and the first row tile on each panel waited for every line of
// it: a 64 x 2048 x 512 product ran at 59 GFLOP/s, 67 with this (Zen 3,
// 8 alternating runs). Not into L1: the current panel fills it.
inline void PrefetchPartOfPanel(const float* panel, size_t floats, int part,
                                int parts) {
  constexpr size_t kLineFloats = 64 / sizeof(float);
  const size_t lines = (floats + kLineFloats - 1) / kLineFloats;
  const size_t begin = lines * part / parts;
  const size_t end = lines * (part + 1) / parts;
  for (size_t l = begin; l < end; ++l) {
    __builtin_prefetch(panel + l * kLineFloats, 0, 2);
  }
}

// Rows [begin, end) of A from depth pc: packed as PackA leaves them at
// `packed`, or, where that is null, read in place from the row-major `a`.
struct RowsOfA {
  const float* packed;
  MatrixA a;
  int pc;
  int begin;
  int end;
};

// A row-major A gives each tile row its k values in order already, so the
// tiles read it in place. Packed, it cost 3 % of B = 64 inference at H = 256
// (perf, Zen 5, one thread): the parallel GEMM's tasks of a few panels each
// packed the same rows again.
inline bool ReadsAInPlace(MatrixA a) { return a.col_stride == 1; }

// Where the tile at row `ir` reads A: its packed panel, or its mr rows,
// the last real row standing in for any past the end (their sums are never
// stored).
inline void TileRowsOfA(const RowsOfA& a, int ir, int kc, int mr,
                        const float** rows) {
  if (a.packed != nullptr) {
    rows[0] = a.packed + static_cast<size_t>(ir - a.begin) * kc;
    return;
  }
  for (int r = 0; r < mr; ++r) {
    rows[r] = a.a.row(std::min(ir + r, a.end - 1)) + a.pc;
  }
}

// Every micro-tile of one row block of A against one (kc x n_cols) block
// of B. start.row_init, when set, holds the block's own columns.
inline void RowsTimesBlock(const RowsOfA& a, int n_cols, int kc,
                           const BlockB& b, float* c, int ldc, TileStart start,
                           const Blocking& blk) {
  const int tile_cols = blk.nr * static_cast<int>(hn::Lanes(DF()));
  const MicroTileFn tile = SelectMicroTile(blk.mr, blk.nr, a.packed != nullptr);
  float* slice_buffer = SliceBufferB(static_cast<size_t>(kc) * tile_cols);
  const int row_tiles = (a.end - a.begin + blk.mr - 1) / blk.mr;
  for (int jr = 0; jr < n_cols; jr += tile_cols) {
    const PanelSlice slice =
        TileSliceOfB(b, jr, kc, tile_cols, row_tiles, slice_buffer);
    const size_t cols = std::min(tile_cols, n_cols - jr);
    const TileStart tile_start{start.load_c,
                               start.row_init ? start.row_init + jr : nullptr};
    const int next = jr + tile_cols;
    const float* next_panel =
        next < n_cols && next % b.panel_width == 0
            ? b.base + next / b.panel_width * b.panel_stride
            : nullptr;
    for (int ir = a.begin; ir < a.end; ir += blk.mr) {
      if (next_panel != nullptr) {
        PrefetchPartOfPanel(next_panel, static_cast<size_t>(kc) * b.panel_width,
                            (ir - a.begin) / blk.mr, row_tiles);
      }
      PrefetchTileOfC(c + static_cast<ptrdiff_t>(ir + blk.mr) * ldc + jr, ldc,
                      std::min(blk.mr, a.end - ir - blk.mr), cols);
      const float* tile_a[kMaxTileRows];
      TileRowsOfA(a, ir, kc, blk.mr, tile_a);
      tile(kc, tile_a, slice, c + static_cast<ptrdiff_t>(ir) * ldc + jr, ldc,
           tile_start, std::min(blk.mr, a.end - ir), cols);
    }
  }
}

// Fewer rows than a tile: shrink the tile rather than compute zeros.
inline Blocking BlockingForRows(int m, const Blocking& requested) {
  Blocking blk = requested;
  blk.mr = std::min(blk.mr, m);
  blk.mc = (blk.mc + blk.mr - 1) / blk.mr * blk.mr;
  return blk;
}

// One (kc x nc) block of B against every row block of A.
// start.row_init, when set, holds the block's own columns.
inline void BlockProduct(int m, int n_cols, int kc, MatrixA a, int pc,
                         const BlockB& b, float* c, int ldc, TileStart start,
                         const Blocking& requested) {
  const Blocking blk = BlockingForRows(m, requested);
  float* packed_a = ReadsAInPlace(a)
                        ? nullptr
                        : PackBufferA(static_cast<size_t>(blk.mc) * kc);
  for (int ic = 0; ic < m; ic += blk.mc) {
    const int ic_end = std::min(m, ic + blk.mc);
    if (packed_a != nullptr) PackA(a, ic, ic_end, pc, kc, blk.mr, packed_a);
    RowsTimesBlock({packed_a, a, pc, ic, ic_end}, n_cols, kc, b, c, ldc, start,
                   blk);
  }
}

inline void ClearRows(int m, int n, float* c, int ldc) {
  for (int i = 0; i < m; ++i) {
    std::fill_n(c + static_cast<ptrdiff_t>(i) * ldc, n, 0.0f);
  }
}

inline void GemvPacked(int n, int k, const float* x, const PackedPanels& b,
                       const float* y_init, float* y);

// GemmPacked, where every row of C may instead start at row_init[0..n)
// (beta is then ignored): the tiles start their sums from it, so C is
// written once and never read.
inline void GemmPackedFrom(int m, int n, int k, MatrixA a,
                           const PackedPanels& b, float beta,
                           const float* row_init, float* c, int ldc,
                           const Blocking& blk) {
  // The GEMV reads panels of kPanelVectors vectors; narrower panels (a
  // shared, tile-wide packing of B) take the tile path.
  const bool gemv =
      m == 1 && a.col_stride == 1 && a.row_map == nullptr &&
      b.panel_width == static_cast<int>(kPanelVectors * hn::Lanes(DF()));
  // One row: the GEMV's eight accumulator chains beat a one-row tile's two,
  // and sum in the same order, so the bits are the same.
  if (gemv) {
    const float* start = row_init != nullptr ? row_init : c;
    return GemvPacked(n, k, a.data, b,
                      row_init == nullptr && beta == 0.0f ? nullptr : start, c);
  }
  if (row_init != nullptr && k == 0) {
    for (int i = 0; i < m; ++i) {
      std::copy_n(row_init, n, c + static_cast<ptrdiff_t>(i) * ldc);
    }
    return;
  }
  if (k == 0 && beta == 0.0f) return ClearRows(m, n, c, ldc);
  const int pw = b.panel_width;
  const int nc = (blk.nc + pw - 1) / pw * pw;
  for (int jc = 0; jc < n; jc += nc) {
    const int n_cols = std::min(nc, n - jc);
    for (int pc = 0; pc < k; pc += blk.kc) {
      const int kc = std::min(blk.kc, k - pc);
      const BlockB block{b.panel(jc / pw) + static_cast<size_t>(pc) * pw,
                         static_cast<size_t>(b.k) * pw, pw};
      const TileStart start{pc > 0 || beta != 0.0f,
                            pc == 0 && row_init ? row_init + jc : nullptr};
      BlockProduct(m, n_cols, kc, a, pc, block, c + jc, ldc, start, blk);
    }
  }
}

inline void Gemm(int m, int n, int k, MatrixA a, MatrixB b, float beta,
                 float* c, int ldc, const Blocking& blk) {
  if (k == 0 && beta == 0.0f) return ClearRows(m, n, c, ldc);
  // Panels exactly one tile wide, so each tile reads B contiguously.
  const int pw = blk.nr * static_cast<int>(hn::Lanes(DF()));
  const int nc = (blk.nc + pw - 1) / pw * pw;
  AlignedBuffer packed(static_cast<size_t>(std::min(blk.kc, k)) *
                       ((std::min(nc, n) + pw - 1) / pw) * pw);
  for (int jc = 0; jc < n; jc += nc) {
    const int n_cols = std::min(nc, n - jc);
    for (int pc = 0; pc < k; pc += blk.kc) {
      const int kc = std::min(blk.kc, k - pc);
      PackB(b, pc, kc, jc, n_cols, pw, packed.data());
      const BlockB block{packed.data(), static_cast<size_t>(kc) * pw, pw};
      BlockProduct(m, n_cols, kc, a, pc, block, c + jc, ldc,
                   {pc > 0 || beta != 0.0f, nullptr}, blk);
    }
  }
}

// Scratch for the B blocks of GemmSharedA's unpacked products, reused
// across calls on a thread.
inline float* SharedBlockBufferB(size_t size) {
  static thread_local AlignedBuffer buffer;
  if (buffer.size() < size) buffer.Resize(size);
  return buffer.data();
}

// Where product q's B block for depth pc..pc+kc lies: in its panels packed
// ahead, or packed here, one tile wide as Gemm packs it, into `scratch`.
inline BlockB SharedABlockOfB(const SharedAProduct& product, int pc, int kc,
                              int tile_cols, float* scratch) {
  const PackedPanels& packed = product.packed;
  if (packed.data != nullptr) {
    return {packed.data + static_cast<size_t>(pc) * packed.panel_width,
            static_cast<size_t>(packed.k) * packed.panel_width,
            packed.panel_width};
  }
  PackB(product.b, pc, kc, 0, product.n, tile_cols, scratch);
  return {scratch, static_cast<size_t>(kc) * tile_cols, tile_cols};
}

// Every product's C = A * B_q, with each (mc x kc) block of A packed once
// for all of them: the same tiles and the same K order as GemmPacked (or
// Gemm) with beta 0, so the same bits.
inline void GemmSharedA(int m, int k, MatrixA a, const SharedAProduct* products,
                        int count, const Blocking& requested) {
  if (m <= 0) return;
  if (k == 0) {
    for (int q = 0; q < count; ++q) {
      ClearRows(m, products[q].n, products[q].c, products[q].ldc);
    }
    return;
  }
  const Blocking blk = BlockingForRows(m, requested);
  const int tile_cols = blk.nr * static_cast<int>(hn::Lanes(DF()));
  const int depth = std::min(blk.kc, k);
  float* packed_a = ReadsAInPlace(a)
                        ? nullptr
                        : PackBufferA(static_cast<size_t>(blk.mc) * depth);
  // Scratch for the products whose B this call packs; none for the others.
  size_t offsets[kMaxSharedAProducts + 1] = {};
  for (int q = 0; q < count; ++q) {
    const bool packs_here = products[q].packed.data == nullptr;
    const size_t cols = (products[q].n + tile_cols - 1) / tile_cols * tile_cols;
    offsets[q + 1] =
        offsets[q] + (packs_here ? static_cast<size_t>(depth) * cols : 0);
  }
  float* scratch = SharedBlockBufferB(offsets[count]);
  BlockB blocks[kMaxSharedAProducts];
  for (int pc = 0; pc < k; pc += blk.kc) {
    const int kc = std::min(blk.kc, k - pc);
    for (int q = 0; q < count; ++q) {
      blocks[q] =
          SharedABlockOfB(products[q], pc, kc, tile_cols, scratch + offsets[q]);
    }
    for (int ic = 0; ic < m; ic += blk.mc) {
      const int ic_end = std::min(m, ic + blk.mc);
      if (packed_a != nullptr) PackA(a, ic, ic_end, pc, kc, blk.mr, packed_a);
      for (int q = 0; q < count; ++q) {
        const int pw = blocks[q].panel_width;
        const int nc = (blk.nc + pw - 1) / pw * pw;
        for (int jc = 0; jc < products[q].n; jc += nc) {
          BlockB block = blocks[q];
          block.base += jc / pw * block.panel_stride;
          RowsTimesBlock({packed_a, a, pc, ic, ic_end},
                         std::min(nc, products[q].n - jc), kc, block,
                         products[q].c + jc, products[q].ldc, {pc > 0, nullptr},
                         blk);
        }
      }
    }
  }
}

// y[N] = y_init + x[K] * B with B packed: one row of gemm_packed, summed
// in the same order, so it gives the same bits. Two panels per pass give
// eight independent accumulator chains. The sums start from y_init (zero
// when null; it may be y itself), so a caller's bias need not be copied
// into y and read back: 1-5 % of a batch-1 stream step on Zen 3.
template <size_t P, typename TW>
HWY_INLINE void GemvPanels(int k, const float* HWY_RESTRICT x, const TW* b,
                           size_t panel_stride, size_t pw, const float* y_init,
                           float* y, size_t cols) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  constexpr size_t kVecs = P * kPanelVectors;
  HWY_ALIGN float edge[kVecs * HWY_MAX_BYTES / sizeof(float)];
  const bool full = cols == kVecs * lanes;
  float* out = full ? y : edge;
  const float* init = full ? y_init : y_init ? edge : nullptr;
  if (!full) {
    for (size_t j = 0; j < kVecs * lanes; ++j) {
      edge[j] = y_init && j < cols ? y_init[j] : 0.0f;
    }
  }
  VF acc[kVecs];
#pragma GCC unroll 8
  for (size_t v = 0; v < kVecs; ++v) {
    acc[v] = init ? hn::LoadU(d, init + v * lanes) : hn::Zero(d);
  }
  for (int p = 0; p < k; ++p) {
    const VF xv = hn::Set(d, x[p]);
#pragma GCC unroll 2
    for (size_t q = 0; q < P; ++q) {
      VF w[kPanelVectors];
      LoadWeights<kPanelVectors>(
          d, b + q * panel_stride + static_cast<size_t>(p) * pw, w);
#pragma GCC unroll 4
      for (size_t v = 0; v < kPanelVectors; ++v) {
        acc[q * kPanelVectors + v] =
            hn::MulAdd(xv, w[v], acc[q * kPanelVectors + v]);
      }
    }
  }
#pragma GCC unroll 8
  for (size_t v = 0; v < kVecs; ++v) hn::StoreU(acc[v], d, out + v * lanes);
  if (!full) std::memcpy(y, edge, cols * sizeof(float));
}

template <typename Panels>
inline void GemvPanelsOf(int n, int k, const float* x, const Panels& b,
                         const float* y_init, float* y) {
  const size_t pw = b.panel_width;
  const size_t panel_stride = static_cast<size_t>(b.k) * pw;
  auto init_at = [&](int panel) {
    return y_init ? y_init + panel * pw : nullptr;
  };
  int panel = 0;
  for (; (panel + 2) * static_cast<int>(pw) <= n; panel += 2) {
    GemvPanels<2>(k, x, b.panel(panel), panel_stride, pw, init_at(panel),
                  y + panel * pw, 2 * pw);
  }
  for (; panel * static_cast<int>(pw) < n; ++panel) {
    const size_t cols = std::min<size_t>(pw, n - panel * pw);
    GemvPanels<1>(k, x, b.panel(panel), panel_stride, pw, init_at(panel),
                  y + panel * pw, cols);
  }
}

inline void GemvPacked(int n, int k, const float* x, const PackedPanels& b,
                       const float* y_init, float* y) {
  GemvPanelsOf(n, k, x, b, y_init, y);
}

inline void GemvPackedBF16(int n, int k, const float* x,
                           const PackedPanelsBF16& b, const float* y_init,
                           float* y) {
  GemvPanelsOf(n, k, x, b, y_init, y);
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_GEMM_INL_H_
