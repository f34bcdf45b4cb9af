// Training checkpoints: a model file (model_file.h) that also holds the
// optimizer's state, the trainer's shuffling state and its position, so that
// training resumes bitwise where it stopped.
//
// Added to a model file (kind "checkpoint", parameters always F32):
//   optimizer.first.NAME, optimizer.second.NAME  F32, each parameter's shape:
//       the moment buffers (OptimizerState), present after the first step;
//       second only for Adam
//   trainer.order  I64 [N]: the current epoch's sample order, during a run
//   metadata lstmkit.optimizer  JSON: kind ("sgd" | "adam"), learning_rate,
//       weight_decay, momentum, beta1, beta2, epsilon, steps
//   metadata lstmkit.trainer  JSON: batch_size, shuffle_state, in_run, epoch,
//       next_batch, rng_state, loss_sum, weight_sum (generator states as
//       decimal strings: they use all 64 bits)
#ifndef LSTMKIT_SRC_CHECKPOINT_FILE_H_
#define LSTMKIT_SRC_CHECKPOINT_FILE_H_

#include <cstdint>
#include <vector>

#include "byte_source.h"
#include "lstmkit/lstmkit.hpp"
#include "safetensors.h"
#include "training_progress.h"

namespace lstmkit::internal {

struct CheckpointContents {
  ModelConfig config;
  std::vector<float> parameters;  // layout order
  OptimizerConfig optimizer_config;
  OptimizerState optimizer_state;
  int batch_size = 0;
  uint64_t shuffle_state = 0;  // the shuffling generator between runs
  TrainingProgress progress;   // `stopped` is not stored
  Metadata extra_metadata;
};

std::vector<uint8_t> EncodeCheckpoint(const CheckpointContents& contents);

// Validates the whole file (everything ReadModelFileHeader checks, the
// training metadata, the training tensors' names, dtypes and shapes, and
// after reading, the checksum and that trainer.order is a permutation), then
// returns its contents. Throws lstmkit::Error naming the file and problem.
CheckpointContents DecodeCheckpoint(ByteSource& source);

// "optimizer adam after 40 steps; epoch 3, 2 batches done" from a
// checkpoint's header, for descriptions; checks the training metadata.
std::string DescribeTrainingState(const std::string& source,
                                  const Metadata& lstmkit_metadata);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_CHECKPOINT_FILE_H_
