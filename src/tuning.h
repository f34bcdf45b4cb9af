// The run-time parameters that `lstmkit tune` chooses per CPU, where they
// come from, and the file they are kept in. None of them changes a result:
// GEMMs sum each output's K in order whatever the blocking, every output
// block is computed whole by one task, and the fused step treats every row
// and unit alone (tests prove each of these bitwise).
#ifndef LSTMKIT_SRC_TUNING_H_
#define LSTMKIT_SRC_TUNING_H_

#include <cstddef>
#include <string>

#include "kernels.h"

namespace lstmkit::internal {

struct Tuning {
  kernels::Blocking gemm_packed;  // GEMMs over packed weights
  kernels::Blocking gemm;         // GEMMs that pack B as they go
  int step_rows = 6;              // batch rows per tile of the fused step
  int task_rows = 96;             // output rows per parallel GEMM task
  int task_panels = 4;            // output panels per parallel GEMM task
  // A stream steps on several threads from this many bytes of weights on.
  size_t stream_parallel_bytes = 256 * 1024;
  std::string source = "built-in defaults";
};

// What a tuning file is kept for: it applies only where all of these match.
struct CpuIdentity {
  std::string model;               // /proc/cpuinfo "model name"
  std::string target;              // the Highway target the kernels run on
  size_t l1d = 0, l2 = 0, l3 = 0;  // bytes, from sysfs

  bool operator==(const CpuIdentity& o) const {
    return model == o.model && target == o.target && l1d == o.l1d &&
           l2 == o.l2 && l3 == o.l3;
  }
};

CpuIdentity CurrentCpu(const kernels::KernelTable& kernels);

// Defaults derived from this CPU's cache sizes for a target.
Tuning DefaultTuning(const kernels::KernelTable& kernels);

// The tuning in effect for a target: a test's or the tuner's override, else
// the first file found (LSTMKIT_TUNING, then the per-user cache path) when
// it was made on this CPU for this target, else the defaults. A file that
// does not apply, or does not parse, is ignored with one line on stderr.
Tuning ActiveTuning(const kernels::KernelTable& kernels);

// Replaces the tuning of every target until cleared (null). For the tuner
// and for tests.
void OverrideTuning(const Tuning* tuning);

// Where the tuning file is looked for: $LSTMKIT_TUNING if set, else
// $XDG_CACHE_HOME/lstmkit/tuning.json, else ~/.cache/lstmkit/tuning.json.
std::string TuningFilePath();

// The file's text for a tuning made on `cpu`, and back. Reading validates
// every field and throws lstmkit::Error naming what is wrong.
std::string TuningToJson(const Tuning& tuning, const CpuIdentity& cpu,
                         const std::string& notes_json);
Tuning TuningFromJson(const std::string& text, const std::string& source,
                      const kernels::KernelTable& kernels, CpuIdentity* cpu);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_TUNING_H_
