#include "threads.h"

#include <oneapi/tbb/info.h>

#include <algorithm>

namespace lstmkit::internal {

Threads::Threads(int requested) {
  // More threads than cores would only make TBB warn and time-slice.
  const int cores = oneapi::tbb::info::default_concurrency();
  requested_ = requested <= 0 ? cores : requested;
  concurrency_ = std::min(requested_, cores);
}

oneapi::tbb::task_arena& Threads::Arena() const {
  std::call_once(arena_made_, [this] {
    arena_ = std::make_unique<oneapi::tbb::task_arena>(concurrency_);
    // An arena takes the floating-point mode of the thread that initializes
    // it and runs every task in that mode, the caller's share included.
    // Initialize it with denormals flushed, as in all library compute,
    // whatever the mode of the call that happens to need it first.
    const ScopedFlushDenormals flush;
    arena_->initialize();
  });
  return *arena_;
}

}  // namespace lstmkit::internal
