// Tells ThreadSanitizer about the ordering that oneTBB provides. Debian's
// libtbb is not instrumented, so without these the sanitizer cannot see
// that a task starts after it was spawned and ends before the wait returns,
// and reports races that are not there. No-ops in other builds.
#ifndef LSTMKIT_SRC_TSAN_ANNOTATIONS_H_
#define LSTMKIT_SRC_TSAN_ANNOTATIONS_H_

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define LSTMKIT_TSAN_ACQUIRE(addr) __tsan_acquire(addr)
#define LSTMKIT_TSAN_RELEASE(addr) __tsan_release(addr)
#else
#define LSTMKIT_TSAN_ACQUIRE(addr) ((void)(addr))
#define LSTMKIT_TSAN_RELEASE(addr) ((void)(addr))
#endif

#endif  // LSTMKIT_SRC_TSAN_ANNOTATIONS_H_
