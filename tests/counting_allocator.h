// Global operator new and delete, replaced in every test program that links
// counting_allocator.cc: while armed they count allocations, and they can be
// told to fail after a number of them.
#ifndef LSTMKIT_TESTS_COUNTING_ALLOCATOR_H_
#define LSTMKIT_TESTS_COUNTING_ALLOCATOR_H_

#include <atomic>

namespace lstmkit::testing {

// Counting is armed while this is true.
extern std::atomic<bool> g_counting;
// Allocations counted while armed.
extern std::atomic<long> g_allocations;
// Allocations still allowed before one throws std::bad_alloc; -1: no limit.
extern std::atomic<long> g_allocations_left;
// The thread whose allocations are counted and failed; nullptr: every
// thread's. oneTBB starts its worker threads when it sees fit, and a thread
// allocates as it starts (its thread-local storage, for one), so a call
// that runs on the calling thread alone is watched on that thread alone.
extern std::atomic<const void*> g_watched_thread;

// An address that tells the calling thread from every other.
inline const void* ThisThread() {
  static thread_local char tag;
  return &tag;
}

inline bool OnWatchedThread() {
  const void* watched = g_watched_thread.load(std::memory_order_relaxed);
  return watched == nullptr || watched == ThisThread();
}

// Counts one allocation when armed; for replacements of malloc and its kin.
inline void CountAllocation() {
  if (g_counting.load(std::memory_order_relaxed) && OnWatchedThread()) {
    ++g_allocations;
  }
}

}  // namespace lstmkit::testing

#endif  // LSTMKIT_TESTS_COUNTING_ALLOCATOR_H_
