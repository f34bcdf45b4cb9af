// The flags every `lstmkit train <task>` shares: model size, optimizer,
// schedule, early stopping, threads, checkpoints and outputs.
#ifndef LSTMKIT_TOOLS_LSTMKIT_TRAINING_FLAGS_H_
#define LSTMKIT_TOOLS_LSTMKIT_TRAINING_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::cli {

struct TrainingFlags {
  std::string model_path;  // --model, where the trained model goes
  int hidden = 64;
  int layers = 1;
  // nn.LSTM's options: both directions (not for tasks that stream), h
  // projected to `proj` values (0 = none), dropout between layers.
  bool bidirectional = false;
  int proj = 0;
  float dropout = 0.0f;
  int epochs = 100;
  int batch = 32;
  float learning_rate = 0.01f;
  std::string optimizer = "adam";
  float momentum = 0.9f;  // SGD only
  float clip = 1.0f;
  float weight_decay = 0.0f;
  int patience = 10;        // epochs without a better validation loss
  double time_limit_s = 0;  // 0 = none
  int threads = 0;
  uint64_t seed = 1;
  std::string checkpoint_path;  // default: <model>.ckpt
  bool resume = false;
  bool plot = true;
  int log_every = 0;  // epochs between plain progress lines; 0 = automatic
  // Raises SIGINT after this many batches: tests exercise the real Ctrl-C
  // path with it. Hidden from --help.
  int interrupt_after_batches = 0;
};

// Adds the shared flags to a `train <task>` subcommand. The values already
// in *flags are the task's defaults, which --help shows.
void AddTrainingFlags(CLI::App* app, TrainingFlags* flags);

// Adds --bidirectional, for tasks whose models read whole sequences.
void AddBidirectionalFlag(CLI::App* app, TrainingFlags* flags);
// For tasks that run their model as a stream (one step at a time, forward
// only): --bidirectional is listed in --help with `reason` and refused.
void RefuseBidirectionalFlag(CLI::App* app, const std::string& reason);

// Checks ranges and names the flag of the first one that is out of range
// (UsageError), and fills in the checkpoint path.
void ValidateTrainingFlags(TrainingFlags* flags);

OptimizerConfig OptimizerFromFlags(const TrainingFlags& flags);
ModelConfig ModelConfigFromFlags(const TrainingFlags& flags, int input_size,
                                 int output_size, OutputActivation activation,
                                 OutputSteps steps);

// The file beside the model: "airline.lstm" + "_loss.csv" gives
// "airline_loss.csv" (the extension is dropped).
std::string SiblingPath(const std::string& model_path,
                        const std::string& suffix);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_TRAINING_FLAGS_H_
