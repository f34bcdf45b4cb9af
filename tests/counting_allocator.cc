#include "counting_allocator.h"

#include <cstddef>
#include <cstdlib>
#include <new>

namespace lstmkit::testing {

std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
std::atomic<long> g_allocations_left{-1};
std::atomic<const void*> g_watched_thread{nullptr};

namespace {

void CountOrFail() {
  CountAllocation();
  if (!OnWatchedThread()) return;
  long left = g_allocations_left.load(std::memory_order_relaxed);
  while (left >= 0) {
    if (left == 0) throw std::bad_alloc();
    if (g_allocations_left.compare_exchange_weak(left, left - 1)) break;
  }
}

}  // namespace
}  // namespace lstmkit::testing

// The replacements pair malloc with free by design; GCC cannot tell.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  lstmkit::testing::CountOrFail();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t size, std::align_val_t align) {
  lstmkit::testing::CountOrFail();
  const size_t a = static_cast<size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop
