// Exports one table of kernel function pointers per Highway target; the
// kernels themselves compile in gemm_kernels.cc, lstm_kernels.cc,
// lstm_bf16_kernels.cc and optimizer_kernels.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// After foreach_target.h, which re-includes this file once per target.
#include "kernel_parts-inl.h"  // NOLINT(build/include_order)

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

const KernelTable* GetKernelTable() {
  static const KernelTable table = [] {
    KernelTable t;
    t.name = hwy::TargetName(HWY_TARGET);
    t.target = HWY_TARGET;
    t.lanes = static_cast<int>(
        hwy::HWY_NAMESPACE::Lanes(hwy::HWY_NAMESPACE::ScalableTag<float>()));
    FillGemmKernels(&t);
    FillLstmKernels(&t);
    FillOptimizerKernels(&t);
    return t;
  }();
  return &table;
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>

namespace lstmkit::kernels {

HWY_EXPORT(GetKernelTable);

// The table of every compiled target this CPU supports, from the dispatch
// table's per-target entries. A target's own code may only run on a CPU
// that supports it (the compiler is free to use its instructions anywhere,
// even to build the table), so unsupported entries are never called.
// Entry 0 is Highway's own initializer, which would change the
// process-wide chosen target; it is never called either.
std::vector<const KernelTable*> SupportedKernelTables() {
  const auto& dispatch = HWY_DISPATCH_TABLE(GetKernelTable);
  const int64_t supported = hwy::SupportedTargets();
  std::vector<const KernelTable*> tables;
  for (int bit = 0; bit < 63; ++bit) {
    const int64_t target = int64_t{1} << bit;
    if ((supported & target) == 0) continue;
    const int64_t chosen = (target == HWY_SCALAR || target == HWY_EMU128)
                               ? HWY_CHOSEN_TARGET_MASK_SCALAR
                               : HWY_CHOSEN_TARGET_SHIFT(target);
    if ((chosen & HWY_CHOSEN_TARGET_MASK_TARGETS & ~int64_t{1}) == 0) continue;
    const size_t index =
        hwy::Num0BitsBelowLS1Bit_Nonzero64(static_cast<uint64_t>(chosen));
    if (dispatch[index] == nullptr) continue;
    const KernelTable* table = dispatch[index]();
    if (std::find(tables.begin(), tables.end(), table) == tables.end()) {
      tables.push_back(table);
    }
  }
  return tables;
}

}  // namespace lstmkit::kernels
#endif  // HWY_ONCE
