// The fused LSTM step's tiles for bfloat16 weights, of every Highway
// target; lstm_kernels.cc hands bfloat16 steps to LstmStepBF16Weights.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lstm_bf16_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// The kernels must come after foreach_target.h, which re-includes this file
// once per target.
#include "kernel_parts-inl.h"  // NOLINT(build/include_order)
#include "lstm-inl.h"          // NOLINT(build/include_order)

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

void LstmStepBF16Weights(const LstmStepArgs& args, int first, int end) {
  LstmStepTiles<uint16_t>(args, first, end);
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
