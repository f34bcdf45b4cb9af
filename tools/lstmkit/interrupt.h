// Ctrl-C during training: the first one asks training to stop after the
// current batch and save a checkpoint; a second one ends the program at once
// as usual.
#ifndef LSTMKIT_TOOLS_LSTMKIT_INTERRUPT_H_
#define LSTMKIT_TOOLS_LSTMKIT_INTERRUPT_H_

#include <csignal>

namespace lstmkit::cli {

// The exit status of a run that Ctrl-C stopped, as shells report SIGINT.
inline constexpr int kExitInterrupted = 130;

// Handles SIGINT while it lives and restores the previous handler after.
class InterruptCatcher {
 public:
  InterruptCatcher();
  ~InterruptCatcher();
  InterruptCatcher(const InterruptCatcher&) = delete;
  InterruptCatcher& operator=(const InterruptCatcher&) = delete;

  bool requested() const;

 private:
  struct sigaction previous_ {};
};

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_INTERRUPT_H_
