#include "threads.h"

#include <oneapi/tbb/info.h>

#include <algorithm>

namespace lstmkit::internal {

Threads::Threads(int requested) {
  // More threads than cores would only make TBB warn and time-slice.
  const int cores = oneapi::tbb::info::default_concurrency();
  requested_ = requested <= 0 ? cores : requested;
  concurrency_ = std::min(requested_, cores);
  if (concurrency_ > 1) {
    arena_ = std::make_unique<oneapi::tbb::task_arena>(concurrency_);
    // An arena takes the floating-point mode of the thread that initializes
    // it and runs every task in that mode, the caller's share included.
    // Initialize it here, with denormals flushed as in all library compute,
    // rather than in whichever call happens to use it first.
    const ScopedFlushDenormals flush;
    arena_->initialize();
  }
}

}  // namespace lstmkit::internal
