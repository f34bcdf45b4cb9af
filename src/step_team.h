// A team of threads that walks a sequence of steps together, each step
// split into slices, with a barrier between steps: the shape of an LSTM's
// time loop, where step t needs all of step t-1.
//
// Slice s belongs to participant s % P, so in steady state the same thread
// computes the same slice every step and keeps that slice's weights in its
// own L2. Any participant may take any slice that is not yet taken, so the
// team finishes even when fewer threads show up than were planned; one
// thread alone does everything. Participants spin only while the team runs.
#ifndef LSTMKIT_SRC_STEP_TEAM_H_
#define LSTMKIT_SRC_STEP_TEAM_H_

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "denormals.h"
#include "threads.h"
#include "tsan_annotations.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LSTMKIT_CPU_PAUSE() _mm_pause()
#else
#define LSTMKIT_CPU_PAUSE() std::this_thread::yield()
#endif

namespace lstmkit::internal {

// Slice s of `slices` near-equal parts of [0, total): {first, count}.
inline std::pair<int, int> SlicePanels(int total, int slices, int s) {
  const int first = static_cast<int>(static_cast<long>(total) * s / slices);
  const int end = static_cast<int>(static_cast<long>(total) * (s + 1) / slices);
  return {first, end - first};
}

class StepTeam {
 public:
  static constexpr int kMaxSlices = 128;

  // Slices for `items` units of work: one per thread, at most one per item.
  static int SlicesFor(const Threads& threads, int items) {
    return std::max(1, std::min({threads.requested(), items, kMaxSlices}));
  }

  // work(step, slice) for every step in [0, steps) and slice in
  // [0, slices); every slice of a step ends before any slice of the next
  // one starts. Call from inside Threads::Run.
  template <typename Work>
  static void Run(const Threads& threads, int steps, int slices,
                  const Work& work) {
    const int participants = std::min(threads.concurrency(), slices);
    if (participants <= 1 || slices > kMaxSlices) {
      for (int t = 0; t < steps; ++t) {
        for (int s = 0; s < slices; ++s) work(t, s);
      }
      return;
    }
    StepTeam team(steps, slices, participants);
    // Participants are loop iterations: the caller runs some itself, and
    // any it finds unstarted, so nothing waits on a thread that never came.
    threads.For(participants, [&](int p) { team.Participate(p, work); });
  }

 private:
  // Each counter on its own cache line: they are written by many threads.
  struct alignas(64) Counter {
    std::atomic<long> value{0};
  };

  StepTeam(int steps, int slices, int participants)
      : steps_(steps), slices_(slices), participants_(participants) {}

  // Slice s may be taken for step t once, by whoever moves its counter
  // from t to t + 1.
  bool Claim(int slice, long step) {
    long expected = step;
    return claimed_[slice].value.load(std::memory_order_relaxed) == step &&
           claimed_[slice].value.compare_exchange_strong(
               expected, step + 1, std::memory_order_acquire);
  }

  void WaitForStep(long step) {
    const long target = (step + 1) * slices_;
    for (int spins = 0; done_.value.load(std::memory_order_acquire) < target;
         ++spins) {
      if (spins < 4096) {
        LSTMKIT_CPU_PAUSE();
      } else {
        std::this_thread::yield();
      }
    }
  }

  template <typename Work>
  void Participate(int me, const Work& work) {
    ScopedFlushDenormals flush;
    for (long t = 0; t < steps_; ++t) {
      // Own slices first, then any that nobody has started.
      for (int s = me; s < slices_; s += participants_) RunIfFree(s, t, work);
      for (int s = 0; s < slices_; ++s) RunIfFree(s, t, work);
      WaitForStep(t);
    }
  }

  template <typename Work>
  void RunIfFree(int slice, long step, const Work& work) {
    if (!Claim(slice, step)) return;
    work(static_cast<int>(step), slice);
    done_.value.fetch_add(1, std::memory_order_release);
  }

  const long steps_;
  const int slices_;
  const int participants_;
  Counter claimed_[kMaxSlices];  // on the stack: a team never allocates
  Counter done_;
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_STEP_TEAM_H_
