// Plain (non-terminal) progress lines: the first epoch, every few, the last
// planned, and the one after which training stops early.
#include "progress.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace lstmkit::cli {
namespace {

std::string Lines(int epochs_run, int last_flagged) {
  std::ostringstream out;
  ProgressPlan plan;
  plan.epochs = 100;
  plan.log_every = 10;
  Progress progress(out, /*terminal=*/false, plan);
  for (int epoch = 1; epoch <= epochs_run; ++epoch) {
    progress.EpochDone(epoch, 1.0, NAN, "", epoch == last_flagged);
  }
  return out.str();
}

TEST(Progress, PlainLinesShowFirstEveryFewAndTheLastRun) {
  const std::string text = Lines(/*epochs_run=*/37, /*last_flagged=*/37);
  EXPECT_NE(text.find("epoch    1 "), std::string::npos) << text;
  EXPECT_NE(text.find("epoch   30 "), std::string::npos) << text;
  EXPECT_EQ(text.find("epoch   31 "), std::string::npos) << text;
  EXPECT_NE(text.find("epoch   37 "), std::string::npos) << text;
  EXPECT_EQ(Lines(37, 0).find("epoch   37 "), std::string::npos);
}

}  // namespace
}  // namespace lstmkit::cli
