#include "training_flags.h"

#include <cmath>
#include <filesystem>

#include "bench_case.h"

namespace lstmkit::cli {
namespace {

void RequireAtLeast(double value, double least, const char* flag) {
  if (!(value >= least)) {
    throw UsageError(std::string(flag) + " must be at least " +
                     CLI::detail::to_string(least) + ", got " +
                     CLI::detail::to_string(value));
  }
}

// Hours of training must not end in a model that cannot be saved: the
// folder of --model (and of the checkpoint) is checked before they start.
void RequireFolderOf(const std::string& path, const char* flag) {
  const std::filesystem::path folder =
      std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!folder.empty() && !std::filesystem::is_directory(folder, error)) {
    throw UsageError(std::string(flag) + " " + path + ": the folder " +
                     folder.string() + " does not exist");
  }
}

}  // namespace

void AddTrainingFlags(CLI::App* app, TrainingFlags* f) {
  app->add_option("--model,-o", f->model_path,
                  "where to save the trained model (a safetensors file)")
      ->required();
  const char* group = "Model and training";
  app->add_option("--hidden", f->hidden, "LSTM units per layer")
      ->capture_default_str()
      ->group(group);
  app->add_option("--layers", f->layers, "stacked LSTM layers")
      ->capture_default_str()
      ->group(group);
  app->add_option("--proj", f->proj,
                  "project each layer's h to this many values (LSTMP, as "
                  "nn.LSTM's proj_size; less than --hidden); 0 = none")
      ->capture_default_str()
      ->group(group);
  app->add_option("--dropout", f->dropout,
                  "dropout probability on the inputs of layers 2 and up, in "
                  "training only (needs --layers 2 or more)")
      ->capture_default_str()
      ->group(group);
  app->add_option("--epochs", f->epochs, "most passes over the training data")
      ->capture_default_str()
      ->group(group);
  app->add_option("--batch", f->batch, "sequences per mini-batch")
      ->capture_default_str()
      ->group(group);
  app->add_option("--lr", f->learning_rate, "learning rate")
      ->capture_default_str()
      ->group(group);
  app->add_option("--optimizer", f->optimizer, "adam or sgd")
      ->capture_default_str()
      ->group(group);
  app->add_option("--momentum", f->momentum, "SGD momentum")
      ->capture_default_str()
      ->group(group);
  app->add_option("--clip", f->clip,
                  "largest global gradient norm; 0 = no clipping")
      ->capture_default_str()
      ->group(group);
  app->add_option("--weight-decay", f->weight_decay, "L2 penalty")
      ->capture_default_str()
      ->group(group);
  app->add_option("--patience", f->patience,
                  "stop after this many epochs without a better validation "
                  "loss; 0 = never stop early")
      ->capture_default_str()
      ->group(group);
  app->add_option("--time-limit", f->time_limit_s,
                  "stop training after this many seconds; 0 = no limit")
      ->capture_default_str()
      ->group(group);
  app->add_option("--threads", f->threads, "threads to use; 0 = all cores")
      ->capture_default_str()
      ->group(group);
  app->add_option("--seed", f->seed,
                  "seed of the weights, the shuffling and the dropout masks")
      ->capture_default_str()
      ->group(group);
  const char* run = "Checkpoints and output";
  app->add_option("--checkpoint", f->checkpoint_path,
                  "where Ctrl-C saves the training state (default: the model "
                  "path + .ckpt)")
      ->group(run);
  app->add_flag("--resume", f->resume,
                "continue from the checkpoint that Ctrl-C saved")
      ->group(run);
  app->add_flag_callback(
         "--no-plot", [f] { f->plot = false; },
         "write CSV files only; do not draw PNGs with tools/plot.py")
      ->group(run);
  app->add_option("--log-every", f->log_every,
                  "epochs between progress lines when stderr is not a "
                  "terminal; 0 = about 20 lines in all")
      ->group(run);
  app->add_option("--interrupt-after", f->interrupt_after_batches)->group("");
}

void AddBidirectionalFlag(CLI::App* app, TrainingFlags* f) {
  app->add_flag("--bidirectional", f->bidirectional,
                "each layer also reads the sequence backwards; the two "
                "directions' outputs are concatenated")
      ->group("Model and training");
}

void RefuseBidirectionalFlag(CLI::App* app, const std::string& reason) {
  // A ParseError, so that the message reads like CLI11's own.
  app->add_flag_callback(
         "--bidirectional",
         [reason] { throw CLI::ValidationError("--bidirectional", reason); },
         "not available: " + reason)
      ->group("Model and training");
}

void ValidateTrainingFlags(TrainingFlags* f) {
  RequireAtLeast(f->hidden, 1, "--hidden");
  RequireAtLeast(f->layers, 1, "--layers");
  RequireAtLeast(f->proj, 0, "--proj");
  if (f->proj >= f->hidden) {
    throw UsageError(
        "--proj must be less than --hidden = " + std::to_string(f->hidden) +
        " (0 = no projection), got " + std::to_string(f->proj));
  }
  if (!(f->dropout >= 0 && f->dropout < 1)) {
    throw UsageError("--dropout must be in [0, 1), got " +
                     CLI::detail::to_string(f->dropout));
  }
  if (f->dropout > 0 && f->layers < 2) {
    throw UsageError(
        "--dropout acts between stacked layers and needs --layers 2 or "
        "more, got --layers " +
        std::to_string(f->layers));
  }
  RequireAtLeast(f->epochs, 1, "--epochs");
  RequireAtLeast(f->batch, 1, "--batch");
  if (!(f->learning_rate > 0) || !std::isfinite(f->learning_rate)) {
    throw UsageError("--lr must be a positive number, got " +
                     CLI::detail::to_string(f->learning_rate));
  }
  if (f->optimizer != "adam" && f->optimizer != "sgd") {
    throw UsageError("--optimizer must be adam or sgd, got '" + f->optimizer +
                     "'");
  }
  RequireAtLeast(f->momentum, 0, "--momentum");
  RequireAtLeast(f->clip, 0, "--clip");
  RequireAtLeast(f->weight_decay, 0, "--weight-decay");
  RequireAtLeast(f->patience, 0, "--patience");
  RequireAtLeast(f->time_limit_s, 0, "--time-limit");
  RequireAtLeast(f->threads, 0, "--threads");
  RequireAtLeast(f->log_every, 0, "--log-every");
  if (f->checkpoint_path.empty()) f->checkpoint_path = f->model_path + ".ckpt";
  RequireFolderOf(f->model_path, "--model");
  RequireFolderOf(f->checkpoint_path, "--checkpoint");
}

OptimizerConfig OptimizerFromFlags(const TrainingFlags& f) {
  OptimizerConfig config;
  config.kind = f.optimizer == "sgd" ? OptimizerConfig::Kind::kSgd
                                     : OptimizerConfig::Kind::kAdam;
  config.learning_rate = f.learning_rate;
  config.weight_decay = f.weight_decay;
  if (config.kind == OptimizerConfig::Kind::kSgd) config.momentum = f.momentum;
  return config;
}

ModelConfig ModelConfigFromFlags(const TrainingFlags& f, int input_size,
                                 int output_size, OutputActivation activation,
                                 OutputSteps steps) {
  ModelConfig config;
  config.input_size = input_size;
  config.hidden_size = f.hidden;
  config.num_layers = f.layers;
  config.bidirectional = f.bidirectional;
  config.proj_size = f.proj;
  config.dropout = f.dropout;
  config.output_size = output_size;
  config.output_activation = activation;
  config.output_steps = steps;
  return config;
}

std::string SiblingPath(const std::string& model_path,
                        const std::string& suffix) {
  const size_t slash = model_path.find_last_of('/');
  const size_t dot = model_path.find_last_of('.');
  const bool has_extension = dot != std::string::npos &&
                             (slash == std::string::npos || dot > slash + 1);
  return (has_extension ? model_path.substr(0, dot) : model_path) + suffix;
}

}  // namespace lstmkit::cli
