#include "supervised_training.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "bench_case.h"
#include "input_file.h"
#include "interrupt.h"
#include "progress.h"

namespace lstmkit::cli {
namespace {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// Checkpoint metadata keys of the command line's own state.
constexpr char kCurveKey[] = "cli.loss_curve";
constexpr char kBestEpochKey[] = "cli.best_epoch";
constexpr char kBadEpochsKey[] = "cli.epochs_without_improvement";

// What early stopping remembers between epochs.
struct EarlyStopping {
  std::vector<LossPoint> curve;
  double best = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  int bad_epochs = 0;
  std::vector<float> best_parameters;
};

FileMetadata CheckpointMetadata(const SupervisedJob& job,
                                const EarlyStopping& state) {
  FileMetadata metadata = TaskMetadata(job.task, job.settings);
  metadata[kCurveKey] = LossCurveToJson(state.curve).dump();
  metadata[kBestEpochKey] = std::to_string(state.best_epoch);
  metadata[kBadEpochsKey] = std::to_string(state.bad_epochs);
  return metadata;
}

// Loads the checkpoint into the trainer and the early-stopping state; the
// best model so far is the model file itself.
void Resume(Trainer* trainer, const SupervisedJob& job,
            const TrainingFlags& flags, Model* model, EarlyStopping* state) {
  const std::string& path = flags.checkpoint_path;
  if (!std::filesystem::exists(path)) {
    throw UsageError("--resume: there is no checkpoint at " + path +
                     " (Ctrl-C saves one; --checkpoint names another)");
  }
  FileMetadata metadata;
  trainer->LoadCheckpoint(path, &metadata);
  if (metadata[kTaskKey] != TaskName(job.task) ||
      metadata[kSettingsKey] != job.settings.dump()) {
    throw std::runtime_error(
        path +
        ": the checkpoint is from a run with other data or settings; "
        "rerun that command with --resume, or start afresh without it");
  }
  try {
    state->curve =
        LossCurveFromJson(nlohmann::json::parse(metadata[kCurveKey]));
    state->best_epoch = std::stoi(metadata[kBestEpochKey]);
    state->bad_epochs = std::stoi(metadata[kBadEpochsKey]);
  } catch (const std::exception&) {
    throw std::runtime_error(path +
                             ": the checkpoint's training history is "
                             "missing or damaged");
  }
  if (state->best_epoch > 0) {
    const LossPoint& best = state->curve.at(state->best_epoch - 1);
    state->best = job.validation != nullptr ? best.validation : best.train;
    const Model saved = LoadModel(flags.model_path);
    const Span<const float> parameters = saved.parameters();
    if (parameters.size() != model->parameters().size()) {
      throw std::runtime_error(flags.model_path +
                               ": does not hold the best model of the run the "
                               "checkpoint belongs to");
    }
    state->best_parameters.assign(parameters.begin(), parameters.end());
  }
}

}  // namespace

TrainingOutcome TrainSupervised(Model* model, const SupervisedJob& job,
                                const TrainingFlags& flags, CommandIo& io) {
  model->set_threads(flags.threads);
  const bool has_validation = job.validation != nullptr;
  EarlyStopping state;
  bool stop_early = false, time_up = false;
  long long batches = 0;
  const auto start = std::chrono::steady_clock::now();
  InterruptCatcher interrupt;
  ProgressPlan plan;
  plan.epochs = flags.epochs;
  plan.batches_per_epoch =
      (job.train->num_samples + flags.batch - 1) / flags.batch;
  plan.sequences_per_batch = std::min(flags.batch, job.train->num_samples);
  plan.log_every = flags.log_every;
  // The Trainer reports losses per epoch only.
  plan.loss_label = "last epoch's loss";
  Progress progress(io.err, io.err_is_terminal, plan);

  TrainerConfig config;
  config.epochs = flags.epochs;
  config.batch_size = flags.batch;
  config.optimizer = OptimizerFromFlags(flags);
  config.loss.kind = job.loss;
  config.clip_norm = flags.clip;
  config.seed = flags.seed;
  Trainer* trainer_in_use = nullptr;
  config.should_stop = [&] {
    const TrainingPosition position = trainer_in_use->position();
    const double last_loss =
        state.curve.empty() ? kNoValue : state.curve.back().train;
    progress.BatchDone(position.epoch, position.batch, last_loss);
    if (++batches == flags.interrupt_after_batches) std::raise(SIGINT);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    time_up = flags.time_limit_s > 0 && elapsed >= flags.time_limit_s;
    return interrupt.requested() || stop_early || time_up;
  };
  config.on_epoch = [&](const EpochReport& report) {
    state.curve.push_back({report.epoch, report.train_loss,
                           has_validation ? report.validation_loss : kNoValue});
    const double score =
        has_validation ? report.validation_loss : report.train_loss;
    std::string note;
    if (score < state.best) {
      state.best = score;
      state.best_epoch = report.epoch;
      state.bad_epochs = 0;
      const Span<const float> parameters = model->parameters();
      state.best_parameters.assign(parameters.begin(), parameters.end());
      note = has_validation ? "best" : "";
    } else if (++state.bad_epochs >= flags.patience && flags.patience > 0 &&
               has_validation) {
      stop_early = true;
      note = "no better for " + std::to_string(flags.patience) + " epochs";
    }
    progress.EpochDone(report.epoch, report.train_loss,
                       has_validation ? report.validation_loss : kNoValue, note,
                       stop_early || time_up || interrupt.requested());
  };
  Trainer trainer(model, config);
  trainer_in_use = &trainer;
  if (flags.resume) {
    Resume(&trainer, job, flags, model, &state);
    progress.Say("resuming from " + flags.checkpoint_path + " at epoch " +
                 std::to_string(trainer.position().epoch) + ", batch " +
                 std::to_string(trainer.position().batch));
  } else if (std::filesystem::exists(flags.checkpoint_path)) {
    progress.Say("note: " + flags.checkpoint_path +
                 " is from an interrupted run; this run starts afresh (add "
                 "--resume to continue that one)");
  }
  trainer.Fit(*job.train, job.validation);

  TrainingOutcome outcome;
  outcome.curve = state.curve;
  outcome.best_epoch = state.best_epoch;
  if (interrupt.requested()) {
    if (!state.best_parameters.empty()) {
      SaveTaskModelWith(*model, state.best_parameters, job.task, job.settings,
                        flags.model_path);
    }
    trainer.SaveCheckpoint(flags.checkpoint_path,
                           CheckpointMetadata(job, state));
    progress.Say("interrupted: saved the training state to " +
                 flags.checkpoint_path +
                 "; run the same command with --resume to continue");
    outcome.interrupted = true;
    return outcome;
  }
  if (!state.best_parameters.empty()) {
    std::copy(state.best_parameters.begin(), state.best_parameters.end(),
              model->parameters().begin());
    model->parameters_changed();
  }
  SaveTaskModel(*model, job.task, job.settings, flags.model_path);
  std::filesystem::remove(flags.checkpoint_path);
  outcome.stop_reason =
      stop_early ? "stopped early: no better validation loss for " +
                       std::to_string(flags.patience) + " epochs"
      : time_up ? TimeLimitReason(flags.time_limit_s)
                : "ran all " + std::to_string(flags.epochs) + " epochs";
  return outcome;
}

void WriteLossCurve(const std::vector<LossPoint>& curve,
                    const TrainingFlags& flags, const std::string& title,
                    CommandIo& io) {
  const std::string csv = SiblingPath(flags.model_path, "_loss.csv");
  WriteTextFile(csv, LossCurveCsv(curve));
  io.out << "wrote " << csv << "\n";
  if (flags.plot) {
    io.out << DrawPlot("loss", csv, SiblingPath(flags.model_path, "_loss.png"),
                       title)
           << "\n";
  }
}

}  // namespace lstmkit::cli
