// Compiles the kernels once per Highway target and exports one table of
// function pointers per target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// The kernels must come after foreach_target.h, which re-includes this file
// once per target.
#include "gemm-inl.h"  // NOLINT(build/include_order)
#include "lstm-inl.h"  // NOLINT(build/include_order)

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

const KernelTable* GetKernelTable() {
  static const KernelTable table = [] {
    KernelTable t;
    t.name = hwy::TargetName(HWY_TARGET);
    t.target = HWY_TARGET;
    t.lanes = static_cast<int>(hn::Lanes(hn::ScalableTag<float>()));
    t.gemm_packed = &GemmPacked;
    t.gemm = &Gemm;
    t.gemv_packed = &GemvPacked;
    t.lstm_step = &LstmStep;
    t.lstm_cell_backward = &LstmCellBackward;
    t.sigmoid = &SigmoidArray;
    t.tanh = &TanhArray;
    return t;
  }();
  return &table;
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lstmkit::kernels {

HWY_EXPORT(GetKernelTable);

// Every compiled target's table, from the dispatch table's per-target
// entries. Entry 0 is Highway's own initializer, which would change the
// process-wide chosen target; it is skipped.
std::vector<const KernelTable*> CompiledKernelTables() {
  std::vector<const KernelTable*> tables;
  const size_t entries = sizeof(HWY_DISPATCH_TABLE(GetKernelTable)) /
                         sizeof(HWY_DISPATCH_TABLE(GetKernelTable)[0]);
  for (size_t i = 1; i < entries; ++i) {
    if (HWY_DISPATCH_TABLE(GetKernelTable)[i] != nullptr) {
      tables.push_back(HWY_DISPATCH_TABLE(GetKernelTable)[i]());
    }
  }
  return tables;
}

}  // namespace lstmkit::kernels
#endif  // HWY_ONCE
