// The per-target functions that fill a KernelTable, each defined in the
// translation unit that compiles its kernels (gemm_kernels.cc,
// lstm_kernels.cc) and called by kernels.cc, which builds the table.
#if defined(LSTMKIT_SIMD_KERNEL_PARTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSTMKIT_SIMD_KERNEL_PARTS_INL_H_
#undef LSTMKIT_SIMD_KERNEL_PARTS_INL_H_
#else
#define LSTMKIT_SIMD_KERNEL_PARTS_INL_H_
#endif

#include "hwy/highway.h"
#include "kernels.h"

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

void FillGemmKernels(KernelTable* table);
void FillLstmKernels(KernelTable* table);

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_KERNEL_PARTS_INL_H_
