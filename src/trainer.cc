#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "check.h"
#include "rng.h"

namespace lstmkit {

using internal::Require;

namespace {

// A time-major mini-batch gathered from sample-major dataset rows.
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
  for (int b = 0; b < count; ++b) {
    const size_t n = samples[b];
    for (int t = 0; t < t_len; ++t) {
      const float* src = data.inputs.data() + (n * t_len + t) * in;
      std::copy_n(src, in,
                  batch->x.data() + (static_cast<size_t>(t) * count + b) * in);
    }
    for (int r = 0; r < rows; ++r) {
      const size_t dst = static_cast<size_t>(r) * count + b;
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

}  // namespace

Trainer::Trainer(Model* model, const TrainerConfig& config)
    : model_(model),
      config_(config),
      optimizer_(config.optimizer),
      shuffle_state_(config.seed) {
  Require(model != nullptr, "model must not be null");
  internal::RequirePositive("config.epochs", config.epochs);
  internal::RequirePositive("config.batch_size", config.batch_size);
  Require(config.clip_norm >= 0.0f && std::isfinite(config.clip_norm),
          "config.clip_norm must be >= 0 (0 = no clipping), got ",
          config.clip_norm);
}

Trainer::~Trainer() = default;

std::vector<EpochReport> Trainer::Fit(const Dataset& train,
                                      const Dataset* validation) {
  ValidateDataset(*model_, config_.loss, train, "train");
  if (validation != nullptr) {
    ValidateDataset(*model_, config_.loss, *validation, "validation");
  }
  std::vector<size_t> order(train.num_samples);
  std::iota(order.begin(), order.end(), size_t{0});
  internal::Rng rng(shuffle_state_);
  Gradients gradients;
  Batch batch;
  std::vector<EpochReport> reports;
  const int width = model_->output_width();
  for (int epoch = 1; epoch <= config_.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    if (config_.shuffle) {
      for (size_t i = order.size() - 1; i > 0; --i) {
        std::swap(order[i], order[rng.Below(i + 1)]);
      }
    }
    double loss_sum = 0.0, weight_sum = 0.0;
    int batch_index = 0;
    for (size_t first = 0; first < order.size();
         first += config_.batch_size, ++batch_index) {
      const int count = static_cast<int>(
          std::min<size_t>(config_.batch_size, order.size() - first));
      GatherBatch(*model_, config_.loss, train, order.data() + first, count,
                  &batch);
      const float loss = model_->ComputeGradients(
          BatchInput(batch, train.seq_len), BatchTarget(batch), config_.loss,
          &gradients);
      Require(std::isfinite(loss) && AllFinite(gradients.parameters()),
              "training diverged in epoch ", epoch, ", batch ", batch_index,
              ": the loss or a gradient is not finite (loss = ", loss,
              "); the model keeps its parameters from before this step. "
              "Lower the learning rate or set clip_norm.");
      if (config_.clip_norm > 0.0f) {
        ClipGradientNorm(&gradients, config_.clip_norm);
      }
      optimizer_.Step(model_, gradients);
      const double weight = LossWeight(config_.loss, batch, width);
      loss_sum += double{loss} * weight;
      weight_sum += weight;
    }
    EpochReport report;
    report.epoch = epoch;
    report.train_loss = weight_sum > 0 ? loss_sum / weight_sum : 0.0;
    report.validation_loss = validation != nullptr
                                 ? Evaluate(*validation)
                                 : std::numeric_limits<double>::quiet_NaN();
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    reports.push_back(report);
    if (config_.on_epoch) config_.on_epoch(report);
  }
  shuffle_state_ = rng.state();
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
