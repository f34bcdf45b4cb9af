// What training shows while it runs: on a terminal a progress bar redrawn in
// place (epoch, batch, loss, sequences per second, time left), elsewhere
// plain lines, one every few epochs, that read well in a log file.
#ifndef LSTMKIT_TOOLS_LSTMKIT_PROGRESS_H_
#define LSTMKIT_TOOLS_LSTMKIT_PROGRESS_H_

#include <chrono>
#include <ostream>
#include <string>

namespace lstmkit::cli {

struct ProgressPlan {
  int epochs = 1;  // the most epochs the run may take
  int batches_per_epoch = 1;
  int sequences_per_batch = 1;
  int log_every = 0;  // plain lines: every this many epochs; 0 = auto
  std::string rate_unit = "seq/s";  // what sequences_per_batch counts
  std::string loss_label = "loss";  // what BatchDone's loss is
};

class Progress {
 public:
  Progress(std::ostream& out, bool terminal, const ProgressPlan& plan);

  // After each batch; `loss` is the mean loss of the epoch so far (NaN when
  // unknown). Redraws the bar at most ten times a second.
  void BatchDone(int epoch, int batches_done, double loss);
  // After each epoch: a line with its losses (NaN validation = none) and
  // `note` (such as "best"), every epoch on a terminal, every few in plain
  // mode (always the first, the last planned, and one after which training
  // stops: `last`).
  void EpochDone(int epoch, double train_loss, double validation_loss,
                 const std::string& note, bool last = false);
  // A message on its own line (the bar is cleared first).
  void Say(const std::string& line);

 private:
  using Clock = std::chrono::steady_clock;
  void ClearBar();
  double SecondsSince(Clock::time_point start) const;

  std::ostream& out_;
  const bool terminal_;
  const ProgressPlan plan_;
  const Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  long long batches_seen_ = 0;
  bool bar_shown_ = false;
};

// Why training stopped when its --time-limit ran out, naming the limit.
std::string TimeLimitReason(double limit_seconds);

// "1:05" or "1:02:05".
std::string FormatDuration(double seconds);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_PROGRESS_H_
