#include "parallel_gemm.h"

#include <algorithm>

#include "check.h"

namespace lstmkit::internal {

namespace {

// Output blocks: rows a multiple of the tile height, columns a whole
// number of panels. Big enough to amortise packing, small enough to give
// 16 cores work on the shapes of an LSTM layer.
struct BlockGrid {
  int rows_per_block;
  int cols_per_block;
  int row_blocks;
  int col_blocks;

  BlockGrid(int m, int n, const Tuning& tuning, int mr, int panel_width) {
    rows_per_block = std::max(mr, tuning.task_rows / mr * mr);
    cols_per_block = tuning.task_panels * panel_width;
    row_blocks = (m + rows_per_block - 1) / rows_per_block;
    col_blocks = (n + cols_per_block - 1) / cols_per_block;
    SpreadRows(m, mr, row_blocks);
  }
  int blocks() const { return row_blocks * col_blocks; }

  // About `blocks` row blocks, as equal as whole tiles allow: the 100 rows
  // of a batch-1 input projection (T = 100) made blocks of 96 and 4 rows,
  // and the 4-row tasks ran a 1-row tile, the slowest.
  void SpreadRows(int m, int mr, int blocks) {
    const int rows = (m + blocks - 1) / blocks;
    rows_per_block = std::max(mr, (rows + mr - 1) / mr * mr);
    row_blocks = (m + rows_per_block - 1) / rows_per_block;
  }
};

// With whole columns, rows alone make the tasks: as many as the tuned row
// count gives, rounded up to a multiple of the threads. The 1024 rows of a
// H=256 weight gradient made 11 tasks, so 5 of 16 threads had none and
// one of 2 threads ran one more than the other.
void BalanceRowBlocks(int m, int mr, int threads, BlockGrid* grid) {
  grid->SpreadRows(m, mr, (grid->row_blocks + threads - 1) / threads * threads);
}

// B packed once for every task of a ParallelGemm, in panels one tile wide,
// the layout the unpacked GEMM packs for itself. Packing inside each task
// would repeat it once per row block: 4 times at 2 threads, 32 at 16.
// Tasks take blocks of B's rows and pack every panel of them with the
// kernels' vectorized copy: a task per group of four panels gave 16 threads
// 4 tasks at N = 256 (now 50 at K = 6400), and copied 64 bytes per libc
// memcpy call.
void PackSharedB(const GemmContext& ctx, int k, int n, kernels::MatrixB b,
                 int panel_width, kernels::PackedB* packed) {
  packed->k = k;
  packed->n = n;
  packed->panel_width = panel_width;
  packed->data.Resize(static_cast<size_t>(packed->panels()) * k * panel_width);
  constexpr int kRowsPerTask = 128;
  const int tasks = (k + kRowsPerTask - 1) / kRowsPerTask;
  ctx.threads->For(tasks, [&](int task) {
    const int first_row = task * kRowsPerTask;
    const int rows = std::min(kRowsPerTask, k - first_row);
    for (int p = 0; p < packed->panels(); ++p) {
      const int col = p * panel_width;
      float* panel = packed->data.data() + static_cast<size_t>(col) * k;
      ctx.kernels->pack_b(b, first_row, rows, col,
                          std::min(panel_width, n - col), panel_width,
                          panel + static_cast<size_t>(first_row) * panel_width);
    }
  });
}

kernels::MatrixA OffsetRows(kernels::MatrixA a, int row) {
  if (a.row_map != nullptr) {
    a.row_map += row;
  } else {
    a.data += static_cast<ptrdiff_t>(row) * a.row_stride;
  }
  return a;
}

// One packed product: every row of C from row_init when it is given,
// otherwise from beta * C.
void PackedProduct(const GemmContext& ctx, int m, int k, kernels::MatrixA a,
                   const kernels::PackedPanels& b, float beta,
                   const float* row_init, float* c, int ldc) {
  const kernels::Blocking& blocking = ctx.tuning->gemm_packed;
  if (row_init != nullptr) {
    return ctx.kernels->gemm_packed_row_init(m, b.n, k, a, b, row_init, c, ldc,
                                             blocking);
  }
  ctx.kernels->gemm_packed(m, b.n, k, a, b, beta, c, ldc, blocking);
}

}  // namespace

void ParallelGemmPacked(const GemmContext& ctx, int m, int n, int k,
                        kernels::MatrixA a, const kernels::PackedB& b,
                        float beta, float* c, int ldc, const float* row_init) {
  if (ctx.threads->concurrency() == 1) {
    kernels::PackedPanels whole = b;
    whole.n = n;
    return PackedProduct(ctx, m, k, a, whole, beta, row_init, c, ldc);
  }
  const BlockGrid grid(m, n, *ctx.tuning, ctx.tuning->gemm_packed.mr,
                       b.panel_width);
  const int panels_per_block = grid.cols_per_block / b.panel_width;
  ctx.threads->For(grid.blocks(), [&](int block) {
    const int row = block / grid.col_blocks * grid.rows_per_block;
    const int col_block = block % grid.col_blocks;
    const int col = col_block * grid.cols_per_block;
    PackedProduct(ctx, std::min(grid.rows_per_block, m - row), k,
                  OffsetRows(a, row),
                  b.Panels(col_block * panels_per_block, panels_per_block),
                  beta, row_init == nullptr ? nullptr : row_init + col,
                  c + static_cast<ptrdiff_t>(row) * ldc + col, ldc);
  });
}

void ParallelGemm(const GemmContext& ctx, int m, int n, int k,
                  kernels::MatrixA a, kernels::MatrixB b, float beta, float* c,
                  int ldc) {
  if (ctx.threads->concurrency() == 1) {
    return ctx.kernels->gemm(m, n, k, a, b, beta, c, ldc, ctx.tuning->gemm);
  }
  const int panel_width = kernels::kPanelVectors * ctx.kernels->lanes;
  BlockGrid grid(m, n, *ctx.tuning, ctx.tuning->gemm.mr, panel_width);
  // Every task packs its own A rows. When rows alone give each thread a
  // few tasks (the weight gradients: 4H rows, deep K), keep the columns
  // whole so that no part of A is packed twice.
  if (grid.col_blocks > 1) {
    const int mr = ctx.tuning->gemm.mr;
    const int tasks = 2 * ctx.threads->concurrency();
    const int rows = std::max(grid.rows_per_block,
                              ((m + tasks - 1) / tasks + mr - 1) / mr * mr);
    if ((m + rows - 1) / rows >= tasks) {
      grid.rows_per_block = rows;
      grid.row_blocks = (m + rows - 1) / rows;
      grid.cols_per_block = n;
      grid.col_blocks = 1;
    }
  }
  if (grid.col_blocks == 1) {
    BalanceRowBlocks(m, ctx.tuning->gemm.mr, ctx.threads->concurrency(), &grid);
  }
  // The same sums as the unpacked GEMM computes: B in the panels it would
  // pack, K blocked and summed in the same order.
  const kernels::Blocking& blocking = ctx.tuning->gemm;
  const int tile_width = blocking.nr * ctx.kernels->lanes;
  kernels::PackedB packed;
  PackSharedB(ctx, k, n, b, tile_width, &packed);
  ctx.threads->For(grid.blocks(), [&](int block) {
    const int row = block / grid.col_blocks * grid.rows_per_block;
    const int col = block % grid.col_blocks * grid.cols_per_block;
    const kernels::PackedPanels cols = packed.Panels(
        col / tile_width, (grid.cols_per_block + tile_width - 1) / tile_width);
    ctx.kernels->gemm_packed(
        std::min(grid.rows_per_block, m - row), cols.n, k, OffsetRows(a, row),
        cols, beta, c + static_cast<ptrdiff_t>(row) * ldc + col, ldc, blocking);
  });
}

void ParallelGemmSharedA(const GemmContext& ctx, int m, int k,
                         kernels::MatrixA a, const SharedAOutput* outputs,
                         int count) {
  Require(count >= 0 && count <= kernels::kMaxSharedAProducts,
          "ParallelGemmSharedA: at most ", kernels::kMaxSharedAProducts,
          " outputs");
  const kernels::Blocking& blocking = ctx.tuning->gemm;
  kernels::SharedAProduct products[kernels::kMaxSharedAProducts];
  for (int q = 0; q < count; ++q) {
    products[q].b = outputs[q].b;
    products[q].n = outputs[q].n;
    products[q].c = outputs[q].c;
    products[q].ldc = outputs[q].ldc;
  }
  // One thread packs B block by block, where the blocks stay in cache;
  // several share B packed once, as ParallelGemm does.
  if (ctx.threads->concurrency() == 1) {
    return ctx.kernels->gemm_shared_a(m, k, a, products, count, blocking);
  }
  const int tile_width = blocking.nr * ctx.kernels->lanes;
  for (int q = 0; q < count; ++q) {
    PackSharedB(ctx, k, outputs[q].n, outputs[q].b, tile_width,
                outputs[q].packed);
    products[q].packed = *outputs[q].packed;
  }
  BlockGrid grid(m, 1, *ctx.tuning, blocking.mr, tile_width);
  BalanceRowBlocks(m, blocking.mr, ctx.threads->concurrency(), &grid);
  ctx.threads->For(grid.row_blocks, [&](int block) {
    const int row = block * grid.rows_per_block;
    kernels::SharedAProduct rows[kernels::kMaxSharedAProducts];
    for (int q = 0; q < count; ++q) {
      rows[q] = products[q];
      rows[q].c += static_cast<ptrdiff_t>(row) * rows[q].ldc;
    }
    ctx.kernels->gemm_shared_a(std::min(grid.rows_per_block, m - row), k,
                               OffsetRows(a, row), rows, count, blocking);
  });
}

void ParallelColumnSums(const GemmContext& ctx, int rows, int cols,
                        const float* a, int lda, float* sums) {
  // One range per slice of the threads, whole cache lines wide: each task
  // then reads long runs of every row. Tasks of 256 columns read 1 KiB a
  // whole row (4 KiB or more) apart, each run in another page, out of the
  // prefetchers' reach: at 1 thread that took 3 % of a B=64 training step.
  // Each column sums its rows in order whatever the cut, so the bits do not
  // depend on it.
  constexpr size_t kLineFloats = 64 / sizeof(float);
  const size_t slices = static_cast<size_t>(ctx.threads->requested());
  const size_t per_task = (static_cast<size_t>(cols) + slices - 1) / slices;
  const size_t columns_per_task = std::max(
      kLineFloats, (per_task + kLineFloats - 1) / kLineFloats * kLineFloats);
  ctx.threads->ForRanges(
      cols, columns_per_task, [&](int, size_t begin, size_t end) {
        std::fill(sums + begin, sums + end, 0.0f);
        for (int r = 0; r < rows; ++r) {
          const float* row = a + static_cast<ptrdiff_t>(r) * lda;
          for (size_t j = begin; j < end; ++j) {
            sums[j] += row[j];
          }
        }
      });
}

}  // namespace lstmkit::internal
