// GEMMs split over blocks of the output, each block computed whole by one
// thread: K is never split, so the result is bitwise the same for any
// thread count and any block shape.
#ifndef LSTMKIT_SRC_PARALLEL_GEMM_H_
#define LSTMKIT_SRC_PARALLEL_GEMM_H_

#include "kernels.h"
#include "threads.h"
#include "tuning.h"

namespace lstmkit::internal {

struct GemmContext {
  const Threads* threads;
  const kernels::KernelTable* kernels;
  const Tuning* tuning;
};

// C = beta * C + A * B, B packed. With row_init, every row of C is first
// set to row_init[0..n) and the product added to it (beta is ignored).
// Call from inside Threads::Run.
void ParallelGemmPacked(const GemmContext& ctx, int m, int n, int k,
                        kernels::MatrixA a, const kernels::PackedB& b,
                        float beta, float* c, int ldc,
                        const float* row_init = nullptr);

// One output of ParallelGemmSharedA: C[M][n] = A * B, C overwritten.
// `packed` is scratch for B packed once for every task (on more than one
// thread); a caller that keeps it between calls saves its allocation.
struct SharedAOutput {
  kernels::MatrixB b;
  int n = 0;
  float* c = nullptr;
  int ldc = 0;
  kernels::PackedB* packed = nullptr;
};

// C_q = A * B_q for up to kernels::kMaxSharedAProducts outputs over blocks
// of A's rows, each block of A packed once for all of them. Bitwise equal
// to ParallelGemm with beta 0 on each output alone, for any thread count.
// Call from inside Threads::Run.
void ParallelGemmSharedA(const GemmContext& ctx, int m, int k,
                         kernels::MatrixA a, const SharedAOutput* outputs,
                         int count);

// sums[j] = sum over rows r, in row order, of a[r][j].
void ParallelColumnSums(const GemmContext& ctx, int rows, int cols,
                        const float* a, int lda, float* sums);

// C = beta * C + A * B, B packed block by block inside each task.
void ParallelGemm(const GemmContext& ctx, int m, int n, int k,
                  kernels::MatrixA a, kernels::MatrixB b, float beta, float* c,
                  int ldc);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_PARALLEL_GEMM_H_
