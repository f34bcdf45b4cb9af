#include "phase_profile.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace lstmkit::internal {

namespace {

constexpr int kPhases = static_cast<int>(Phase::kCount);

const char* const kPhaseNames[kPhases] = {
    "forward (whole call)",
    "  buffers",
    "  input projection",
    "  time loop",
    "head",
    "loss",
    "backward (whole call)",
    "  buffers",
    "  time loop",
    "  weight gradients",
    "  input gradients",
    "optimizer step",
};

struct PhaseTotals {
  std::atomic<int64_t> nanoseconds[kPhases] = {};
  std::atomic<int64_t> calls[kPhases] = {};

  // Printed when the library is unloaded, normally at exit.
  ~PhaseTotals() {
    if (!ProfilingEnabled()) return;
    std::fprintf(stderr,
                 "lstmkit profile (LSTMKIT_PROFILE): time per phase, "
                 "summed over calls and threads\n");
    std::fprintf(stderr, "  %-24s %10s %12s %12s\n", "phase", "calls",
                 "total ms", "ms per call");
    for (int p = 0; p < kPhases; ++p) {
      const int64_t n = calls[p].load();
      if (n == 0) continue;
      const double ms = nanoseconds[p].load() * 1e-6;
      std::fprintf(stderr, "  %-24s %10lld %12.3f %12.4f\n", kPhaseNames[p],
                   static_cast<long long>(n), ms, ms / n);
    }
  }
};

PhaseTotals& Totals() {
  static PhaseTotals totals;
  return totals;
}

}  // namespace

bool ProfilingEnabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("LSTMKIT_PROFILE");
    return value != nullptr && *value != '\0' && *value != '0';
  }();
  return enabled;
}

void AddPhaseTime(Phase phase, int64_t nanoseconds) {
  PhaseTotals& totals = Totals();
  const int p = static_cast<int>(phase);
  totals.nanoseconds[p].fetch_add(nanoseconds, std::memory_order_relaxed);
  totals.calls[p].fetch_add(1, std::memory_order_relaxed);
}

}  // namespace lstmkit::internal
