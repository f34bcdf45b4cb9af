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
  }
}

}  // namespace lstmkit::internal
