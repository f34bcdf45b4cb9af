// Where a Trainer stands within a run of Fit, kept between calls so that a
// stopped Fit, or a checkpoint, resumes at the next batch.
#ifndef LSTMKIT_SRC_TRAINING_PROGRESS_H_
#define LSTMKIT_SRC_TRAINING_PROGRESS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::internal {

// A run is config.epochs epochs from epoch 1; between runs in_run is false
// and the other fields mean nothing.
struct TrainingProgress {
  bool in_run = false;
  int epoch = 0;              // the epoch under way, from 1
  int next_batch = 0;         // its first batch not yet trained
  std::vector<size_t> order;  // its sample order, already shuffled
  uint64_t rng_state = 0;     // the shuffling generator after that shuffle
  double loss_sum = 0.0;      // its weighted loss so far, and the weights
  double weight_sum = 0.0;
  bool stopped = false;  // the last Fit returned because of should_stop
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_TRAINING_PROGRESS_H_
