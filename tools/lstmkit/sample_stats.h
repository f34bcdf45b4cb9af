// Summaries of repeated timings, defined the same way in every runner of the
// comparison (tools/lstmkit, bench/onednn_runner.cc, bench/pytorch_runner.py)
// so that their numbers mean the same thing.
#ifndef LSTMKIT_TOOLS_LSTMKIT_SAMPLE_STATS_H_
#define LSTMKIT_TOOLS_LSTMKIT_SAMPLE_STATS_H_

#include <vector>

namespace lstmkit::cli {

struct SampleStats {
  double median = 0;  // the mean of the two middle samples when even
  double min = 0;
  double max = 0;
  double p99 = 0;  // nearest rank: the ceil(0.99 n)-th smallest sample
};

// Needs at least one sample.
SampleStats Summarize(std::vector<double> samples);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_SAMPLE_STATS_H_
