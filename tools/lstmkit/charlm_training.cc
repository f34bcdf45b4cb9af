#include "charlm_training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <limits>

#include "bench_case.h"
#include "charlm_checkpoint.h"
#include "charlm_data.h"
#include "interrupt.h"
#include "progress.h"
#include "task_model.h"

namespace lstmkit::cli {
namespace {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();
const double kLn2 = std::log(2.0);

// Everything that a checkpoint must restore to continue bitwise.
struct CharLmRun {
  int epoch = 1;
  int chunk = 0;        // chunks of this epoch already trained
  double loss_sum = 0;  // nats, over this epoch's chunks
  int loss_count = 0;
  std::vector<float> h, c;  // the states carried into the next chunk
  std::vector<LossPoint> curve;
  double best = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  int bad_epochs = 0;
  std::vector<float> best_parameters;
};

nlohmann::json PositionJson(const CharLmJob& job, const TrainingFlags& flags,
                            const CharLmRun& run) {
  return {{"settings", job.settings},
          {"batch", flags.batch},
          {"epoch", run.epoch},
          {"chunk", run.chunk},
          {"loss_sum", run.loss_sum},
          {"loss_count", run.loss_count},
          {"curve", LossCurveToJson(run.curve)},
          {"best_epoch", run.best_epoch},
          {"bad_epochs", run.bad_epochs}};
}

void SaveCheckpoint(const Model& model, const Optimizer& optimizer,
                    const CharLmJob& job, const TrainingFlags& flags,
                    const CharLmRun& run) {
  CharLmCheckpoint checkpoint;
  checkpoint.position = PositionJson(job, flags, run);
  checkpoint.model_file = SaveModelToBuffer(model);
  checkpoint.optimizer = optimizer.state();
  checkpoint.h = run.h;
  checkpoint.c = run.c;
  SaveCharLmCheckpoint(checkpoint, flags.checkpoint_path);
}

void Resume(Model* model, Optimizer* optimizer, const CharLmJob& job,
            const TrainingFlags& flags, CharLmRun* run) {
  const std::string& path = flags.checkpoint_path;
  if (!std::filesystem::exists(path)) {
    throw UsageError("--resume: there is no checkpoint at " + path +
                     " (Ctrl-C saves one; --checkpoint names another)");
  }
  CharLmCheckpoint checkpoint = LoadCharLmCheckpoint(path);
  const nlohmann::json& position = checkpoint.position;
  if (position.value("settings", nlohmann::json()) != job.settings ||
      position.value("batch", 0) != flags.batch) {
    throw std::runtime_error(
        path +
        ": the checkpoint is from a run with other data or settings; "
        "rerun that command with --resume, or start afresh without it");
  }
  const Model saved = LoadModelFromBuffer(checkpoint.model_file);
  const ModelConfig& a = saved.config();
  const ModelConfig& b = model->config();
  if (saved.parameters().size() != model->parameters().size() ||
      a.proj_size != b.proj_size || a.dropout != b.dropout ||
      checkpoint.h.size() != run->h.size() ||
      checkpoint.c.size() != run->c.size()) {
    throw std::runtime_error(path +
                             ": the checkpoint's model does not match "
                             "--hidden, --layers, --proj and --dropout");
  }
  std::copy(saved.parameters().begin(), saved.parameters().end(),
            model->parameters().begin());
  model->parameters_changed();
  optimizer->set_state(std::move(checkpoint.optimizer));
  run->h = std::move(checkpoint.h);
  run->c = std::move(checkpoint.c);
  try {
    run->epoch = position.at("epoch").get<int>();
    run->chunk = position.at("chunk").get<int>();
    run->loss_sum = position.at("loss_sum").get<double>();
    run->loss_count = position.at("loss_count").get<int>();
    run->curve = LossCurveFromJson(position.at("curve"));
    run->best_epoch = position.at("best_epoch").get<int>();
    run->bad_epochs = position.at("bad_epochs").get<int>();
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error(path + ": the checkpoint's position is damaged");
  }
  if (run->best_epoch > 0) {
    const LossPoint& best = run->curve.at(run->best_epoch - 1);
    run->best = std::isnan(best.validation) ? best.train : best.validation;
    const Model best_model = LoadModel(flags.model_path);
    run->best_parameters.assign(best_model.parameters().begin(),
                                best_model.parameters().end());
  }
}

// New dropout masks for every update (config.dropout > 0), a function of
// --seed and the update count only, which the checkpoint restores: a
// resumed run draws the masks the uninterrupted one would have.
uint64_t DropoutSeed(uint64_t seed, int64_t step) {
  uint64_t z = seed ^ static_cast<uint64_t>(step) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// One chunk: forward for the state it ends in, then the gradients from the
// same start, then the update. Returns the chunk's loss in nats.
double TrainChunk(Model* model, Optimizer* optimizer, const CharLmJob& job,
                  const StreamLayout& layout, const TrainingFlags& flags,
                  CharLmRun* run, Gradients* gradients) {
  std::vector<float> x;
  std::vector<int32_t> labels;
  layout.Gather(*job.train, run->chunk, model->config().input_size, &x,
                &labels);
  Input input;
  input.seq_len = layout.chunk_length();
  input.batch = layout.streams();
  input.x = x;
  input.h0 = run->h;
  input.c0 = run->c;
  input.dropout_seed = DropoutSeed(flags.seed, optimizer->steps());
  Output out = model->Forward(input);
  Target target;
  target.labels = labels;
  LossConfig loss;
  loss.kind = LossKind::kCrossEntropy;
  const float nats = model->ComputeGradients(input, target, loss, gradients,
                                             GradientOptions{false});
  if (!std::isfinite(nats)) {
    throw std::runtime_error("training diverged in epoch " +
                             std::to_string(run->epoch) + ", chunk " +
                             std::to_string(run->chunk + 1) +
                             ": the loss is not finite; lower --lr or --clip");
  }
  if (flags.clip > 0) ClipGradientNorm(gradients, flags.clip);
  optimizer->Step(model, *gradients);
  run->h = std::move(out.h_n);
  run->c = std::move(out.c_n);
  return nats;
}

}  // namespace

TrainingOutcome TrainCharLm(Model* model, const CharLmJob& job,
                            const TrainingFlags& flags, CommandIo& io) {
  model->set_threads(flags.threads);
  const StreamLayout layout(static_cast<int>(job.train->size()), flags.batch,
                            job.bptt);
  const bool has_validation = job.validation->size() > 1;
  Optimizer optimizer(OptimizerFromFlags(flags));
  const ModelConfig& config = model->config();
  // h has P values per layer and stream (proj_size, or H), c has H.
  const size_t state_size =
      static_cast<size_t>(config.num_layers) * flags.batch * config.hidden_size;
  const size_t h_size = config.proj_size > 0
                            ? static_cast<size_t>(config.num_layers) *
                                  flags.batch * config.proj_size
                            : state_size;
  CharLmRun run;
  run.h.assign(h_size, 0.0f);
  run.c.assign(state_size, 0.0f);
  if (flags.resume) Resume(model, &optimizer, job, flags, &run);

  ProgressPlan plan;
  plan.epochs = flags.epochs;
  plan.batches_per_epoch = layout.chunks();
  plan.sequences_per_batch = layout.streams() * layout.chunk_length();
  plan.log_every = flags.log_every;
  plan.rate_unit = "char/s";
  plan.loss_label = "bits/char";
  Progress progress(io.err, io.err_is_terminal, plan);
  if (flags.resume) {
    progress.Say("resuming from " + flags.checkpoint_path + " at epoch " +
                 std::to_string(run.epoch) + ", chunk " +
                 std::to_string(run.chunk));
  }
  InterruptCatcher interrupt;
  const auto start = std::chrono::steady_clock::now();
  Gradients gradients;
  long long batches = 0;
  bool stop_early = false, time_up = false;
  TrainingOutcome outcome;
  for (; run.epoch <= flags.epochs && !stop_early && !time_up; ++run.epoch) {
    if (run.chunk == 0) {
      std::fill(run.h.begin(), run.h.end(), 0.0f);
      std::fill(run.c.begin(), run.c.end(), 0.0f);
      run.loss_sum = 0;
      run.loss_count = 0;
    }
    while (run.chunk < layout.chunks() && !time_up) {
      run.loss_sum +=
          TrainChunk(model, &optimizer, job, layout, flags, &run, &gradients);
      ++run.loss_count;
      ++run.chunk;
      progress.BatchDone(run.epoch, run.chunk,
                         run.loss_sum / run.loss_count / kLn2);
      if (++batches == flags.interrupt_after_batches) std::raise(SIGINT);
      if (interrupt.requested()) {
        if (!run.best_parameters.empty()) {
          SaveTaskModelWith(*model, run.best_parameters, Task::kCharLm,
                            job.settings, flags.model_path);
        }
        SaveCheckpoint(*model, optimizer, job, flags, run);
        progress.Say("interrupted: saved the training state to " +
                     flags.checkpoint_path +
                     "; run the same command with --resume to continue");
        outcome.interrupted = true;
        return outcome;
      }
      const double elapsed = std::chrono::duration<double>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
      time_up = flags.time_limit_s > 0 && elapsed >= flags.time_limit_s;
    }
    const double train_bits = run.loss_sum / std::max(1, run.loss_count) / kLn2;
    const double validation_bits =
        has_validation ? BitsPerCharacter(*model, *job.validation) : kNoValue;
    run.curve.push_back({run.epoch, train_bits, validation_bits});
    const double score = has_validation ? validation_bits : train_bits;
    std::string note = time_up ? "time limit" : "";
    if (score < run.best) {
      run.best = score;
      run.best_epoch = run.epoch;
      run.bad_epochs = 0;
      run.best_parameters.assign(model->parameters().begin(),
                                 model->parameters().end());
      if (has_validation) note += note.empty() ? "best" : ", best";
    } else if (++run.bad_epochs >= flags.patience && flags.patience > 0 &&
               has_validation) {
      stop_early = true;
      note = "no better for " + std::to_string(flags.patience) + " epochs";
    }
    progress.EpochDone(run.epoch, train_bits, validation_bits, note,
                       stop_early || time_up);
    run.chunk = 0;
  }
  std::copy(run.best_parameters.begin(), run.best_parameters.end(),
            model->parameters().begin());
  model->parameters_changed();
  SaveTaskModel(*model, Task::kCharLm, job.settings, flags.model_path);
  std::filesystem::remove(flags.checkpoint_path);
  outcome.curve = run.curve;
  outcome.best_epoch = run.best_epoch;
  outcome.stop_reason =
      stop_early ? "stopped early: no better held-out loss for " +
                       std::to_string(flags.patience) + " epochs"
      : time_up ? TimeLimitReason(flags.time_limit_s)
                : "ran all " + std::to_string(flags.epochs) + " epochs";
  return outcome;
}

}  // namespace lstmkit::cli
