// Flushes denormals to zero while a library call computes. LSTM states
// decay towards zero, and arithmetic on denormals is many times slower.
#ifndef LSTMKIT_SRC_DENORMALS_H_
#define LSTMKIT_SRC_DENORMALS_H_

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define LSTMKIT_HAVE_MXCSR 1
#endif

namespace lstmkit::internal {

// Sets flush-to-zero and denormals-are-zero on this thread and restores the
// caller's settings on destruction.
class ScopedFlushDenormals {
 public:
#ifdef LSTMKIT_HAVE_MXCSR
  // FTZ is bit 15 of MXCSR, DAZ bit 6.
  static constexpr unsigned kFlushBits = 0x8040;
  ScopedFlushDenormals() : saved_(_mm_getcsr()) {
    _mm_setcsr(saved_ | kFlushBits);
  }
  ~ScopedFlushDenormals() { _mm_setcsr(saved_); }
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  unsigned saved_;
#else
  ScopedFlushDenormals() = default;
#endif
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_DENORMALS_H_
