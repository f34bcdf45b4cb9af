// Losses on the model's output rows, with their gradient.
#ifndef LSTMKIT_SRC_LOSS_H_
#define LSTMKIT_SRC_LOSS_H_

#include "lstmkit/lstmkit.hpp"
#include "threads.h"

namespace lstmkit::internal {

struct LossValue {
  double mean = 0.0;   // the loss as reported: a mean over `count` terms
  double count = 0.0;  // elements (MSE) or labelled rows (cross-entropy)
};

// Checks that `target` fits `loss` and an output of [rows][width] from a
// head with `activation`. Throws lstmkit::Error.
void ValidateTarget(const LossConfig& loss, const Target& target, int rows,
                    int width, OutputActivation activation);

// `output` is the head's pre-activation ([rows][width]); writes
// d_output = dL/d(output) of the mean loss.
// The mean squared error is summed in parallel, in fixed chunks added in
// order, so its value is the same for every thread count.
LossValue ComputeLoss(const Threads& threads, const LossConfig& loss,
                      const Target& target, int rows, int width,
                      const float* output, float* d_output);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_LOSS_H_
