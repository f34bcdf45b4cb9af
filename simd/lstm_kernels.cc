// The fused LSTM step (f32 weights; bfloat16 ones in lstm_bf16_kernels.cc),
// the cell's backward pass and the activations of every Highway target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lstm_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// The kernels must come after foreach_target.h, which re-includes this file
// once per target.
#include "kernel_parts-inl.h"  // NOLINT(build/include_order)
#include "lstm-inl.h"          // NOLINT(build/include_order)

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

void FillLstmKernels(KernelTable* table) {
  table->lstm_step = &LstmStep;
  table->step_as_gemm = kVectorRegisters < 32;
  table->lstm_cell_backward = &LstmCellBackward;
  table->sigmoid = &SigmoidArray;
  table->tanh = &TanhArray;
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
