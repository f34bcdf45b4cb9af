// Where the time of the library's calls goes, phase by phase, for users
// who want to know what limits a run on their machine. Off unless the
// environment sets LSTMKIT_PROFILE; then every phase's time is summed over
// all calls and threads, and the table is printed on stderr at exit. Off,
// a phase costs one test of a flag.
#ifndef LSTMKIT_SRC_PHASE_PROFILE_H_
#define LSTMKIT_SRC_PHASE_PROFILE_H_

#include <chrono>
#include <cstdint>

namespace lstmkit::internal {

enum class Phase : int {
  kForwardCall,      // a whole forward pass
  kForwardBuffers,   // sizing and zeroing its buffers
  kInputProjection,  // X W_ih^T for every step at once
  kForwardSteps,     // the time loop
  kHead,             // the output layer, forward and backward
  kLoss,             // the loss and dL/d(output)
  kBackwardCall,     // a whole backward pass
  kBackwardBuffers,  // sizing and zeroing its buffers
  kBackwardSteps,    // the time loop, backward
  kWeightGradients,  // dW and db over every step at once
  kInputGradients,   // dX
  kOptimizerStep,    // the update rule and the weights' repacking
  kCount
};

bool ProfilingEnabled();
void AddPhaseTime(Phase phase, int64_t nanoseconds);

class ScopedPhase {
 public:
  explicit ScopedPhase(Phase phase)
      : phase_(phase), start_(ProfilingEnabled() ? Now() : -1) {}
  ~ScopedPhase() {
    if (start_ >= 0) AddPhaseTime(phase_, Now() - start_);
  }
  ScopedPhase(const ScopedPhase&) = delete;
  ScopedPhase& operator=(const ScopedPhase&) = delete;

 private:
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  Phase phase_;
  int64_t start_;
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_PHASE_PROFILE_H_
