// The GEMM, GEMV and packing kernels of every Highway target. They compile
// apart from the LSTM kernels (lstm_kernels.cc) so that a parallel build
// spreads the per-target work over two cores.
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

void FillGemmKernels(KernelTable* table) {
  table->gemm_packed = &GemmPacked;
  table->gemm_packed_row_init = &GemmPackedRowInit;
  table->gemm = &Gemm;
  table->gemv_packed = &GemvPacked;
  table->gemv_packed_bf16 = &GemvPackedBF16;
  table->transpose_rows = &TransposeRows;
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
