#include "interrupt.h"

namespace lstmkit::cli {
namespace {

volatile std::sig_atomic_t interrupt_requested = 0;

void OnInterrupt(int) { interrupt_requested = 1; }

}  // namespace

InterruptCatcher::InterruptCatcher() {
  interrupt_requested = 0;
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  // SA_RESETHAND: the second Ctrl-C gets the default action and ends the
  // program, for when saving itself hangs.
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, &previous_);
}

InterruptCatcher::~InterruptCatcher() {
  sigaction(SIGINT, &previous_, nullptr);
  interrupt_requested = 0;
}

bool InterruptCatcher::requested() const { return interrupt_requested != 0; }

}  // namespace lstmkit::cli
