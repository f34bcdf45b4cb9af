// The GEMM, GEMV, packing and transpose kernels of every Highway target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gemm_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// The kernels must come after foreach_target.h, which re-includes this file
// once per target.
#include "gemm-inl.h"          // NOLINT(build/include_order)
#include "kernel_parts-inl.h"  // NOLINT(build/include_order)
#include "transpose-inl.h"     // NOLINT(build/include_order)

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

void GemmPacked(int m, int n, int k, MatrixA a, const PackedPanels& b,
                float beta, float* c, int ldc, const Blocking& blk) {
  GemmPackedFrom(m, n, k, a, b, beta, nullptr, c, ldc, blk);
}

void GemmPackedRowInit(int m, int n, int k, MatrixA a, const PackedPanels& b,
                       const float* row_init, float* c, int ldc,
                       const Blocking& blk) {
  GemmPackedFrom(m, n, k, a, b, 0.0f, row_init, c, ldc, blk);
}

void FillGemmKernels(KernelTable* table) {
  table->gemm_packed = &GemmPacked;
  table->gemm_packed_row_init = &GemmPackedRowInit;
  table->gemm = &Gemm;
  table->gemm_shared_a = &GemmSharedA;
  table->pack_b = &PackB;
  table->gemv_packed = &GemvPacked;
  table->gemv_packed_bf16 = &GemvPackedBF16;
  table->transpose_rows = &TransposeRows;
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
