// Training for the tasks the library's Trainer fits as it is (forecasting
// and classification): early stopping on the validation loss with the best
// model kept, Ctrl-C that saves a checkpoint, --resume that continues it
// bitwise as if never stopped, and the progress display.
#ifndef LSTMKIT_TOOLS_LSTMKIT_SUPERVISED_TRAINING_H_
#define LSTMKIT_TOOLS_LSTMKIT_SUPERVISED_TRAINING_H_

#include <string>
#include <vector>

#include "cli.h"
#include "lstmkit/lstmkit.hpp"
#include "nlohmann/json.hpp"
#include "plots.h"
#include "task_model.h"
#include "training_flags.h"

namespace lstmkit::cli {

struct SupervisedJob {
  Task task = Task::kForecast;
  nlohmann::json settings;  // saved with the model; a resume must match it
  const Dataset* train = nullptr;
  const Dataset* validation = nullptr;  // null: no early stopping
  LossKind loss = LossKind::kMeanSquaredError;
};

struct TrainingOutcome {
  bool interrupted = false;  // Ctrl-C: a checkpoint was saved
  std::vector<LossPoint> curve;
  int best_epoch = 0;
  std::string stop_reason;  // why training ended, for the summary
};

// Trains *model and leaves it holding the parameters of its best epoch,
// which it saves to flags.model_path at the end, or when Ctrl-C stops it
// (beside the checkpoint, so that --resume can pick the best one up).
TrainingOutcome TrainSupervised(Model* model, const SupervisedJob& job,
                                const TrainingFlags& flags, CommandIo& io);

// Writes <model>_loss.csv and, unless --no-plot, <model>_loss.png; tells
// what it wrote on io.out.
void WriteLossCurve(const std::vector<LossPoint>& curve,
                    const TrainingFlags& flags, const std::string& title,
                    CommandIo& io);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_SUPERVISED_TRAINING_H_
