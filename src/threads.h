// The threads a call may use: a oneTBB task arena of the requested size, or
// the calling thread alone. The library never touches tbb::global_control,
// which belongs to the application.
#ifndef LSTMKIT_SRC_THREADS_H_
#define LSTMKIT_SRC_THREADS_H_

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <memory>

#include "denormals.h"

namespace lstmkit::internal {

class Threads {
 public:
  // 0 = every core of the machine, 1 = the calling thread only.
  explicit Threads(int requested);

  int concurrency() const { return concurrency_; }

  // Runs fn() inside the arena (or inline with one thread), so that the
  // parallel loops it starts use this arena's threads and no others.
  template <typename Fn>
  void Run(const Fn& fn) const {
    if (arena_ == nullptr) return fn();
    arena_->execute(fn);
  }

  // body(i) for every i in [0, n), each once, in any order and on any of
  // the arena's threads; call from inside Run. Denormals are flushed on
  // every thread that runs a piece.
  template <typename Body>
  void For(int n, const Body& body) const {
    if (arena_ == nullptr || n <= 1) {
      for (int i = 0; i < n; ++i) body(i);
      return;
    }
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<int>(0, n, 1),
        [&](const oneapi::tbb::blocked_range<int>& range) {
          ScopedFlushDenormals flush;
          for (int i = range.begin(); i != range.end(); ++i) body(i);
        },
        oneapi::tbb::simple_partitioner());
  }

 private:
  int concurrency_ = 1;
  std::unique_ptr<oneapi::tbb::task_arena> arena_;
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_THREADS_H_
