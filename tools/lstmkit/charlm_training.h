// Training a character language model by truncated backpropagation through
// time: B streams read their own slices of the text in chunks of --bptt
// characters, each chunk starting from the state the previous one ended
// in, so that the model learns from context longer than a chunk.
#ifndef LSTMKIT_TOOLS_LSTMKIT_CHARLM_TRAINING_H_
#define LSTMKIT_TOOLS_LSTMKIT_CHARLM_TRAINING_H_

#include <cstdint>
#include <vector>

#include "cli.h"
#include "lstmkit/lstmkit.hpp"
#include "nlohmann/json.hpp"
#include "supervised_training.h"
#include "training_flags.h"

namespace lstmkit::cli {

struct CharLmJob {
  nlohmann::json settings;  // saved with the model; a resume must match it
  const std::vector<int32_t>* train = nullptr;
  const std::vector<int32_t>* validation = nullptr;  // empty: no early stop
  int bptt = 64;
};

// Trains *model (one-hot inputs, a softmax head on every step) and leaves it
// holding the parameters of its best epoch, saved to flags.model_path at the
// end or when Ctrl-C stops it. The curve's losses are in bits per character.
TrainingOutcome TrainCharLm(Model* model, const CharLmJob& job,
                            const TrainingFlags& flags, CommandIo& io);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CHARLM_TRAINING_H_
