#include "progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lstmkit::cli {
namespace {

constexpr int kBarWidth = 24;
constexpr double kRedrawSeconds = 0.1;

std::string Bar(double fraction) {
  const int filled = static_cast<int>(std::lround(fraction * kBarWidth));
  return "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') +
         "]";
}

std::string Loss(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", value);
  return text;
}

}  // namespace

std::string TimeLimitReason(double limit_seconds) {
  char text[96];
  std::snprintf(text, sizeof(text), "stopped at the time limit of %g s",
                limit_seconds);
  return text;
}

std::string FormatDuration(double seconds) {
  const long long total = std::max(0LL, std::llround(seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", total / 3600,
                  total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof(text), "%lld:%02lld", total / 60, total % 60);
  }
  return text;
}

Progress::Progress(std::ostream& out, bool terminal, const ProgressPlan& plan)
    : out_(out), terminal_(terminal), plan_(plan) {}

double Progress::SecondsSince(Clock::time_point start) const {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void Progress::BatchDone(int epoch, int batches_done, double loss) {
  ++batches_seen_;
  if (!terminal_) return;
  if (bar_shown_ && SecondsSince(last_draw_) < kRedrawSeconds &&
      batches_done < plan_.batches_per_epoch) {
    return;
  }
  last_draw_ = Clock::now();
  const double elapsed = SecondsSince(start_);
  const double per_batch = elapsed / static_cast<double>(batches_seen_);
  const long long left =
      static_cast<long long>(plan_.epochs - epoch) * plan_.batches_per_epoch +
      (plan_.batches_per_epoch - batches_done);
  const double rate = plan_.sequences_per_batch / std::max(per_batch, 1e-9);
  char line[256];
  std::snprintf(
      line, sizeof(line), "\repoch %d/%d %s batch %d/%d  ", epoch, plan_.epochs,
      Bar(static_cast<double>(batches_done) / plan_.batches_per_epoch).c_str(),
      batches_done, plan_.batches_per_epoch);
  std::string text = line;
  text += plan_.loss_label + " " + (std::isnan(loss) ? "-" : Loss(loss));
  std::snprintf(line, sizeof(line), "  %.0f %s  ETA %s \x1b[K", rate,
                plan_.rate_unit.c_str(),
                FormatDuration(per_batch * left).c_str());
  text += line;
  out_ << text << std::flush;
  bar_shown_ = true;
}

void Progress::EpochDone(int epoch, double train_loss, double validation_loss,
                         const std::string& note, bool last) {
  const int every = plan_.log_every > 0 ? plan_.log_every
                                        : std::max(1, (plan_.epochs + 19) / 20);
  const bool shown = terminal_ || last || epoch == 1 || epoch % every == 0 ||
                     epoch == plan_.epochs;
  if (!shown) return;
  ClearBar();
  const double elapsed = SecondsSince(start_);
  char line[256];
  std::snprintf(line, sizeof(line), "epoch %4d  train %s", epoch,
                Loss(train_loss).c_str());
  std::string text = line;
  if (!std::isnan(validation_loss)) {
    text += "  validation " + Loss(validation_loss);
  }
  std::snprintf(
      line, sizeof(line), "  %.0f %s  %s",
      plan_.sequences_per_batch * batches_seen_ / std::max(elapsed, 1e-9),
      plan_.rate_unit.c_str(), FormatDuration(elapsed).c_str());
  text += line;
  if (!note.empty()) text += "  " + note;
  out_ << text << "\n" << std::flush;
}

void Progress::Say(const std::string& line) {
  ClearBar();
  out_ << line << "\n" << std::flush;
}

void Progress::ClearBar() {
  if (!bar_shown_) return;
  out_ << "\r\x1b[K";
  bar_shown_ = false;
}

}  // namespace lstmkit::cli
