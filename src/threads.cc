#include "threads.h"

#include <oneapi/tbb/info.h>

namespace lstmkit::internal {

Threads::Threads(int requested) {
  const int cores = oneapi::tbb::info::default_concurrency();
  concurrency_ = requested <= 0 ? cores : requested;
  if (concurrency_ > 1) {
    arena_ = std::make_unique<oneapi::tbb::task_arena>(concurrency_);
  }
}

}  // namespace lstmkit::internal
