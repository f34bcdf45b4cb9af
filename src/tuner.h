// The shapes the autotuner measures on. Tune() measures the full workload,
// the shapes of a typical layer; tests run every pass of the tuner on small
// shapes, which reach the same code in a fraction of the time.
#ifndef LSTMKIT_SRC_TUNER_H_
#define LSTMKIT_SRC_TUNER_H_

#include <string>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::internal {

// A GEMM's M, N and K.
struct GemmShape {
  int m, n, k;
};

struct TunerWorkload {
  // The layer input projection, T*B x 4H x I.
  GemmShape projection{3200, 1024, 256};
  // The weight gradient, 4H x I x T*B.
  GemmShape gradient{1024, 256, 3200};
  // The fused step's batch and H.
  int step_batch = 64;
  int step_hidden = 256;
  // Stream sizes tried for the parallel-stream threshold, largest first.
  std::vector<int> stream_hiddens{512, 256, 128, 64, 32};
};

// Tune() with the shapes of `workload`, so that tests can run every stage
// of the tuner on small shapes.
std::string TuneWith(const TuneOptions& options, const TunerWorkload& workload);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_TUNER_H_
