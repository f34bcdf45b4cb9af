// The optimizer's update rules of every Highway target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "optimizer_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// The kernels must come after foreach_target.h, which re-includes this file
// once per target.
#include "kernel_parts-inl.h"  // NOLINT(build/include_order)
#include "optimizer-inl.h"     // NOLINT(build/include_order)

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

void FillOptimizerKernels(KernelTable* table) {
  table->update_is_finite = &UpdateIsFinite;
  table->apply_update = &ApplyUpdate;
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
