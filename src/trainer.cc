#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "check.h"
#include "rng.h"
#include "training_progress.h"

namespace lstmkit {

using internal::Require;

namespace {

// A mini-batch gathered from sample-major dataset rows, in the model's
// layout: time-major, or batch-major with config.batch_first.
struct Batch {
  int size = 0;
  std::vector<float> x;
  std::vector<float> targets;
  std::vector<int32_t> labels;
};

// Output rows per sample: T (every step) or 1 (last step).
int RowsPerSample(const ModelConfig& config, int seq_len) {
  return config.output_steps == OutputSteps::kLastStep ? 1 : seq_len;
}

void ValidateDataset(const Model& model, const LossConfig& loss,
                     const Dataset& data, const char* name) {
  const ModelConfig& config = model.config();
  const std::string prefix = std::string(name) + ".";
  internal::RequirePositive((prefix + "num_samples").c_str(), data.num_samples);
  internal::RequirePositive((prefix + "seq_len").c_str(), data.seq_len);
  const size_t n = static_cast<size_t>(data.num_samples);
  const size_t rows = n * RowsPerSample(config, data.seq_len);
  internal::RequireBuffer(
      (prefix + "inputs").c_str(), data.inputs.data(), data.inputs.size(),
      n * data.seq_len * config.input_size,
      "[N][T][I] = " + internal::ShapeString({data.num_samples, data.seq_len,
                                              config.input_size}));
  if (loss.kind == LossKind::kMeanSquaredError) {
    internal::RequireBuffer((prefix + "targets").c_str(), data.targets.data(),
                            data.targets.size(), rows * model.output_width(),
                            "one output row per sample and output step");
  } else {
    internal::RequireBuffer((prefix + "labels").c_str(), data.labels.data(),
                            data.labels.size(), rows,
                            "one label per sample and output step");
    const int classes = model.output_width();
    for (size_t i = 0; i < rows; ++i) {
      const int32_t label = data.labels[i];
      Require(label == loss.ignore_index || (label >= 0 && label < classes),
              prefix, "labels[", i, "] must be in [0, ", classes,
              ") or equal loss.ignore_index (", loss.ignore_index, "), got ",
              label);
    }
  }
}

void GatherBatch(const Model& model, const LossConfig& loss,
                 const Dataset& data, const size_t* samples, int count,
                 Batch* batch) {
  const ModelConfig& config = model.config();
  const int t_len = data.seq_len;
  const int in = config.input_size;
  const int rows = RowsPerSample(config, t_len);
  const int width = model.output_width();
  batch->size = count;
  batch->x.resize(static_cast<size_t>(t_len) * count * in);
  const bool mse = loss.kind == LossKind::kMeanSquaredError;
  batch->targets.resize(mse ? static_cast<size_t>(rows) * count * width : 0);
  batch->labels.resize(mse ? 0 : static_cast<size_t>(rows) * count);
  const bool batch_first = config.batch_first;
  for (int b = 0; b < count; ++b) {
    const size_t n = samples[b];
    for (int t = 0; t < t_len; ++t) {
      const float* src = data.inputs.data() + (n * t_len + t) * in;
      const size_t row = batch_first ? static_cast<size_t>(b) * t_len + t
                                     : static_cast<size_t>(t) * count + b;
      std::copy_n(src, in, batch->x.data() + row * in);
    }
    for (int r = 0; r < rows; ++r) {
      const size_t dst = batch_first ? static_cast<size_t>(b) * rows + r
                                     : static_cast<size_t>(r) * count + b;
      const size_t src = n * rows + r;
      if (mse) {
        std::copy_n(data.targets.data() + src * width, width,
                    batch->targets.data() + dst * width);
      } else {
        batch->labels[dst] = data.labels[src];
      }
    }
  }
}

Input BatchInput(const Batch& batch, int seq_len) {
  Input input;
  input.seq_len = seq_len;
  input.batch = batch.size;
  input.x = batch.x;
  return input;
}

// The dropout masks of an optimizer step: new for every step, and a
// function of the trainer's seed and the step count only, which a
// checkpoint restores, so that a resumed run draws the same masks.
uint64_t DropoutSeed(uint64_t trainer_seed, int64_t step) {
  internal::Rng rng(trainer_seed ^
                    static_cast<uint64_t>(step) * 0xD1B54A32D192ED03ull);
  return rng.NextU64();
}

Target BatchTarget(const Batch& batch) {
  Target target;
  target.values = batch.targets;
  target.labels = batch.labels;
  return target;
}

// Weight of a batch's mean loss in the dataset mean: its element count for
// MSE, its labelled rows for cross-entropy.
double LossWeight(const LossConfig& loss, const Batch& batch, int width) {
  if (loss.kind == LossKind::kMeanSquaredError) {
    return static_cast<double>(batch.targets.size()) / width;
  }
  return static_cast<double>(
      std::count_if(batch.labels.begin(), batch.labels.end(),
                    [&](int32_t l) { return l != loss.ignore_index; }));
}

bool AllFinite(Span<const float> values) {
  return std::all_of(values.begin(), values.end(),
                     [](float v) { return std::isfinite(v); });
}

// Starts an epoch of a run: its order is the previous epoch's, shuffled
// again (Fisher-Yates with the run's generator), as one generator shuffling
// epoch after epoch would.
void BeginEpoch(int epoch, bool shuffle, internal::TrainingProgress* p) {
  p->epoch = epoch;
  p->next_batch = 0;
  p->loss_sum = 0.0;
  p->weight_sum = 0.0;
  if (!shuffle) return;
  internal::Rng rng(p->rng_state);
  std::vector<size_t>& order = p->order;
  for (size_t i = order.size() - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Below(i + 1)]);
  }
  p->rng_state = rng.state();
}

}  // namespace

Trainer::Trainer(Model* model, const TrainerConfig& config)
    : model_(model),
      config_(config),
      optimizer_(config.optimizer),
      shuffle_state_(config.seed),
      progress_(std::make_unique<internal::TrainingProgress>()) {
  Require(model != nullptr, "model must not be null");
  internal::RequirePositive("config.epochs", config.epochs);
  internal::RequirePositive("config.batch_size", config.batch_size);
  Require(config.clip_norm >= 0.0f && std::isfinite(config.clip_norm),
          "config.clip_norm must be >= 0 (0 = no clipping), got ",
          config.clip_norm);
  Require(config.checkpoint_every >= 0,
          "config.checkpoint_every must be >= 0 (0 = no schedule), got ",
          config.checkpoint_every);
  Require(config.checkpoint_every == 0 || !config.checkpoint_path.empty(),
          "config.checkpoint_every = ", config.checkpoint_every,
          " needs config.checkpoint_path");
}

Trainer::~Trainer() = default;

std::vector<EpochReport> Trainer::Fit(const Dataset& train,
                                      const Dataset* validation) {
  ValidateDataset(*model_, config_.loss, train, "train");
  if (validation != nullptr) {
    ValidateDataset(*model_, config_.loss, *validation, "validation");
  }
  internal::TrainingProgress& p = *progress_;
  if (p.in_run) {
    Require(p.order.size() == static_cast<size_t>(train.num_samples),
            "train.num_samples must be ", p.order.size(),
            " to resume training where it stopped (epoch ", p.epoch, ", batch ",
            p.next_batch, "), got ", train.num_samples);
  } else {
    p.in_run = true;
    p.order.resize(train.num_samples);
    std::iota(p.order.begin(), p.order.end(), size_t{0});
    p.rng_state = shuffle_state_;
    BeginEpoch(1, config_.shuffle, &p);
  }
  p.stopped = false;
  const size_t batch_size = static_cast<size_t>(config_.batch_size);
  const int num_batches =
      static_cast<int>((p.order.size() + batch_size - 1) / batch_size);
  Gradients gradients;
  Batch batch;
  std::vector<EpochReport> reports;
  const int width = model_->output_width();
  // Any failure ends the run, as if it had never started a Fit: the next
  // Fit begins a new one (a checkpoint taken before resumes the old one).
  try {
    for (;;) {
      const auto start = std::chrono::steady_clock::now();
      while (p.next_batch < num_batches) {
        const size_t first = p.next_batch * batch_size;
        const int count = static_cast<int>(
            std::min<size_t>(batch_size, p.order.size() - first));
        GatherBatch(*model_, config_.loss, train, p.order.data() + first, count,
                    &batch);
        Input input = BatchInput(batch, train.seq_len);
        input.dropout_seed = DropoutSeed(config_.seed, optimizer_.steps());
        // The batch is data: its own gradient is never used.
        const float loss =
            model_->ComputeGradients(input, BatchTarget(batch), config_.loss,
                                     &gradients, GradientOptions{false});
        Require(std::isfinite(loss) && AllFinite(gradients.parameters()),
                "training diverged in epoch ", p.epoch, ", batch ",
                p.next_batch,
                ": the loss or a gradient is not finite (loss = ", loss,
                "); the model keeps its parameters from before this step. "
                "Lower the learning rate or set clip_norm.");
        if (config_.clip_norm > 0.0f) {
          ClipGradientNorm(&gradients, config_.clip_norm);
        }
        optimizer_.Step(model_, gradients);
        const double weight = LossWeight(config_.loss, batch, width);
        p.loss_sum += double{loss} * weight;
        p.weight_sum += weight;
        ++p.next_batch;
        const bool stopping = config_.should_stop && config_.should_stop();
        SaveCheckpointIfDue(stopping);
        if (stopping) {
          p.stopped = true;
          return reports;
        }
      }
      EpochReport report;
      report.epoch = p.epoch;
      report.train_loss = p.weight_sum > 0 ? p.loss_sum / p.weight_sum : 0.0;
      report.validation_loss = validation != nullptr
                                   ? Evaluate(*validation)
                                   : std::numeric_limits<double>::quiet_NaN();
      report.seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      reports.push_back(report);
      if (config_.on_epoch) config_.on_epoch(report);
      if (p.epoch >= config_.epochs) break;
      BeginEpoch(p.epoch + 1, config_.shuffle, &p);
    }
    shuffle_state_ = p.rng_state;
    p = internal::TrainingProgress();
    if (!config_.checkpoint_path.empty()) {
      SaveCheckpoint(config_.checkpoint_path);
    }
  } catch (...) {
    p = internal::TrainingProgress();
    throw;
  }
  return reports;
}

double Trainer::Evaluate(const Dataset& data) const {
  ValidateDataset(*model_, config_.loss, data, "data");
  std::vector<size_t> order(data.num_samples);
  std::iota(order.begin(), order.end(), size_t{0});
  Batch batch;
  double loss_sum = 0.0, weight_sum = 0.0;
  const int width = model_->output_width();
  for (size_t first = 0; first < order.size(); first += config_.batch_size) {
    const int count = static_cast<int>(
        std::min<size_t>(config_.batch_size, order.size() - first));
    GatherBatch(*model_, config_.loss, data, order.data() + first, count,
                &batch);
    const float loss = model_->ComputeLoss(BatchInput(batch, data.seq_len),
                                           BatchTarget(batch), config_.loss);
    const double weight = LossWeight(config_.loss, batch, width);
    loss_sum += double{loss} * weight;
    weight_sum += weight;
  }
  return weight_sum > 0 ? loss_sum / weight_sum : 0.0;
}

}  // namespace lstmkit
