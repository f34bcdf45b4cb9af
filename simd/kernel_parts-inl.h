// The per-target functions that one kernel translation unit calls in
// another: those that fill a KernelTable (called by kernels.cc, which builds
// the table), and the kernels the LSTM step hands work to. The kernels are
// spread over several units so that a parallel build spreads the per-target
// work over the cores, and each compiles once.
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
void FillOptimizerKernels(KernelTable* table);

// gemm_kernels.cc: KernelTable::gemm_packed and gemm_packed_row_init.
void GemmPacked(int m, int n, int k, MatrixA a, const PackedPanels& b,
                float beta, float* c, int ldc, const Blocking& blk);
void GemmPackedRowInit(int m, int n, int k, MatrixA a, const PackedPanels& b,
                       const float* row_init, float* c, int ldc,
                       const Blocking& blk);

// lstm_bf16_kernels.cc: the step's recurrent product and gate tails over
// panels [first, end) with bfloat16 weights.
void LstmStepBF16Weights(const LstmStepArgs& args, int first, int end);

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LSTMKIT_SIMD_KERNEL_PARTS_INL_H_
