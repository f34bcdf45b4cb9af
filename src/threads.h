// The threads a call may use: a oneTBB task arena of the requested size, or
// the calling thread alone. The library never touches tbb::global_control,
// which belongs to the application.
#ifndef LSTMKIT_SRC_THREADS_H_
#define LSTMKIT_SRC_THREADS_H_

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>

#include "denormals.h"
#include "tsan_annotations.h"

namespace lstmkit::internal {

class Threads {
 public:
  // 0 = every core of the machine, 1 = the calling thread only.
  explicit Threads(int requested);

  // Threads that can run at once: the request, capped at the machine's.
  int concurrency() const { return concurrency_; }
  // The request (0 resolved to the machine's cores). Work is cut into this
  // many slices even where fewer threads can run, so the partition, and
  // nothing about the results, follows the caller's setting.
  int requested() const { return requested_; }

  // Runs fn() inside the arena (or inline with one thread), so that the
  // parallel loops it starts use this arena's threads and no others.
  template <typename Fn>
  void Run(const Fn& fn) const {
    if (concurrency_ == 1) return fn();
    oneapi::tbb::task_arena& arena = Arena();
    const ArenaTask<Fn> task{&fn};
    LSTMKIT_TSAN_RELEASE(const_cast<ArenaTask<Fn>*>(&task));
    arena.execute(task);
    LSTMKIT_TSAN_ACQUIRE(const_cast<ArenaTask<Fn>*>(&task));
  }

  // body(i) for every i in [0, n), each once, in any order and on any of
  // the arena's threads; call from inside Run. Denormals are flushed on
  // every thread that runs a piece.
  template <typename Body>
  void For(int n, const Body& body) const {
    if (concurrency_ == 1 || n <= 1) {
      for (int i = 0; i < n; ++i) body(i);
      return;
    }
    int order = 0;
    const auto chunk = [&](const oneapi::tbb::blocked_range<int>& range) {
      LSTMKIT_TSAN_ACQUIRE(&order);
      ScopedFlushDenormals flush;
      for (int i = range.begin(); i != range.end(); ++i) body(i);
      LSTMKIT_TSAN_RELEASE(&order);
    };
    LSTMKIT_TSAN_RELEASE(&order);
    oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<int>(0, n, 1), chunk,
                              oneapi::tbb::simple_partitioner());
    LSTMKIT_TSAN_ACQUIRE(&order);
  }

  // The number of ranges ForRanges cuts [0, n) into.
  static int RangeCount(size_t n, size_t per_range) {
    return static_cast<int>((n + per_range - 1) / per_range);
  }

  // body(index, begin, end) for every range [begin, end) of `per_range`
  // items (the last one shorter) that [0, n) is cut into, as For runs
  // them. The cut depends on n alone, so results kept per range and
  // combined in index order are the same for every thread count.
  template <typename Body>
  void ForRanges(size_t n, size_t per_range, const Body& body) const {
    For(RangeCount(n, per_range), [&](int index) {
      const size_t begin = index * per_range;
      body(index, begin, std::min(n, begin + per_range));
    });
  }

 private:
  // What an arena thread runs for Run: any thread in the arena may run it,
  // even another caller's. The sanitizer's ordering is keyed on the task's
  // own address, which the running thread knows without reading anything.
  template <typename Fn>
  struct ArenaTask {
    const Fn* fn;
    void operator()() const {
      LSTMKIT_TSAN_ACQUIRE(const_cast<ArenaTask*>(this));
      (*fn)();
      LSTMKIT_TSAN_RELEASE(const_cast<ArenaTask*>(this));
    }
  };

  // The arena, made by the first Run that needs it: a model set to one
  // thread, or never used, starts none of oneTBB's worker threads.
  oneapi::tbb::task_arena& Arena() const;

  int concurrency_ = 1;
  int requested_ = 1;
  mutable std::once_flag arena_made_;
  mutable std::unique_ptr<oneapi::tbb::task_arena> arena_;
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_THREADS_H_
