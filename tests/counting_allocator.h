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

// Counts one allocation when armed; for replacements of malloc and its kin.
inline void CountAllocation() {
  if (g_counting.load(std::memory_order_relaxed)) ++g_allocations;
}

}  // namespace lstmkit::testing

#endif  // LSTMKIT_TESTS_COUNTING_ALLOCATOR_H_
