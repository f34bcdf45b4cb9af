// sine_forecast: train a small LSTM to forecast a noisy sine wave.
//
// The series is s_t = sin(2 pi t / 20) + noise, with Gaussian noise of
// standard deviation 0.1. The model reads a window of the last 24 values and
// predicts the next one. The windows are split in time: the model trains on
// the first 80 % of the series and is tested on the last 20 %, which it never
// saw, as a forecaster would be used.
//
// No predictor can beat the noise itself: its variance, 0.01, is the floor
// for the test MSE. The program prints the MSE of two naive predictors beside
// the model's for context.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace {

constexpr int kSeriesLength = 2000;
constexpr int kWindow = 24;        // time steps the model reads
constexpr float kPeriod = 20.0f;   // time steps per sine cycle
constexpr float kNoiseStd = 0.1f;  // standard deviation of the noise

// A seeded generator (SplitMix64) with Box-Muller Gaussians, so the series is
// the same on every platform; std::normal_distribution is not.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  float Uniform() {  // in [0, 1)
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<float>(z >> 40) / 16777216.0f;
  }
  float Gaussian() {
    const float u1 = 1.0f - Uniform();  // in (0, 1], so log(u1) is finite
    const float u2 = Uniform();
    return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
  }

 private:
  uint64_t state_;
};

std::vector<float> NoisySine(int length, uint64_t seed) {
  Random random(seed);
  std::vector<float> series(length);
  for (int t = 0; t < length; ++t) {
    series[t] =
        std::sin(6.2831853f * t / kPeriod) + kNoiseStd * random.Gaussian();
  }
  return series;
}

// The windows that start at first, first + 1, ..., last - 1. A Dataset holds
// each sample's whole sequence in turn: inputs[n][t][i], here with one
// feature (i = 0). The target of window n is the value right after it.
lstmkit::Dataset Windows(const std::vector<float>& series, int first,
                         int last) {
  lstmkit::Dataset data;
  data.num_samples = last - first;
  data.seq_len = kWindow;
  for (int start = first; start < last; ++start) {
    data.inputs.insert(data.inputs.end(), series.begin() + start,
                       series.begin() + start + kWindow);
    data.targets.push_back(series[start + kWindow]);
  }
  return data;
}

double MeanSquaredError(const std::vector<float>& predictions,
                        const std::vector<float>& targets) {
  double sum = 0.0;
  for (size_t n = 0; n < targets.size(); ++n) {
    const double diff = double{predictions[n]} - targets[n];
    sum += diff * diff;
  }
  return sum / targets.size();
}

// Runs the model on every window of a dataset at once. Model::Forward takes
// a batch time-major, x[t][b][i], so the windows are interleaved first.
std::vector<float> Predict(const lstmkit::Model& model,
                           const lstmkit::Dataset& data) {
  const int batch = data.num_samples;
  std::vector<float> x(static_cast<size_t>(kWindow) * batch);
  for (int b = 0; b < batch; ++b) {
    for (int t = 0; t < kWindow; ++t) {
      x[static_cast<size_t>(t) * batch + b] =
          data.inputs[static_cast<size_t>(b) * kWindow + t];
    }
  }
  lstmkit::Input input;
  input.seq_len = kWindow;
  input.batch = batch;
  input.x = x;
  // With OutputSteps::kLastStep, y holds one row per window: y[b][0].
  return model.Forward(input).y;
}

}  // namespace

int main() {
  // ---- Data: windows of the series, split in time.
  const std::vector<float> series = NoisySine(kSeriesLength, /*seed=*/2024);
  const int num_windows = kSeriesLength - kWindow;
  const int num_train = num_windows * 8 / 10;
  const lstmkit::Dataset train = Windows(series, 0, num_train);
  // Test windows start after the last training target, so no test value was
  // ever a training input.
  const lstmkit::Dataset test =
      Windows(series, num_train + kWindow, num_windows);
  std::printf("lstmkit %s: forecasting a noisy sine wave\n",
              lstmkit::Version());
  std::printf("%d training windows, %d test windows, %d steps each\n\n",
              train.num_samples, test.num_samples, kWindow);

  // ---- Model: one LSTM layer of 32 units and a dense head that reads the
  // last step's hidden state and outputs one value.
  lstmkit::ModelConfig config;
  config.input_size = 1;
  config.hidden_size = 32;
  config.num_layers = 1;
  config.output_size = 1;
  config.output_steps = lstmkit::OutputSteps::kLastStep;
  lstmkit::Model model(config, lstmkit::InitOptions{/*seed=*/1});

  // ---- Training: Adam on the mean squared error, in shuffled batches.
  lstmkit::TrainerConfig training;
  training.epochs = 20;
  training.batch_size = 64;
  training.optimizer.kind = lstmkit::OptimizerConfig::Kind::kAdam;
  training.optimizer.learning_rate = 0.001f;
  training.loss.kind = lstmkit::LossKind::kMeanSquaredError;
  training.clip_norm = 1.0f;  // keeps an unlucky batch from a giant step
  training.seed = 7;          // shuffling order
  training.on_epoch = [](const lstmkit::EpochReport& report) {
    std::printf("epoch %2d   train MSE %.4f   test MSE %.4f   (%.2f s)\n",
                report.epoch, report.train_loss, report.validation_loss,
                report.seconds);
  };
  lstmkit::Trainer trainer(&model, training);
  // The test set doubles as the validation set so that each epoch reports
  // its error; it plays no part in the updates.
  trainer.Fit(train, &test);

  // ---- Results: some forecasts, then the errors side by side.
  const std::vector<float> predictions = Predict(model, test);
  std::printf("\n%8s %10s %10s %10s\n", "step", "truth", "forecast", "error");
  for (int n = test.num_samples - 8; n < test.num_samples; ++n) {
    const int step = num_train + kWindow + n + kWindow;  // index in series
    std::printf("%8d %10.4f %10.4f %+10.4f\n", step, test.targets[n],
                predictions[n], predictions[n] - test.targets[n]);
  }

  std::vector<float> repeat_last(test.num_samples);
  for (int n = 0; n < test.num_samples; ++n) {
    repeat_last[n] = test.inputs[static_cast<size_t>(n + 1) * kWindow - 1];
  }
  double mean = 0.0;
  for (float y : train.targets) mean += y;
  mean /= train.targets.size();
  const std::vector<float> constant_mean(test.num_samples,
                                         static_cast<float>(mean));

  std::printf("\ntest MSE\n");
  std::printf("  LSTM forecast                  %.4f\n",
              MeanSquaredError(predictions, test.targets));
  std::printf("  repeat the last value          %.4f\n",
              MeanSquaredError(repeat_last, test.targets));
  std::printf("  predict the training mean      %.4f\n",
              MeanSquaredError(constant_mean, test.targets));
  std::printf("  noise variance (the floor)     %.4f\n",
              double{kNoiseStd} * kNoiseStd);
  return 0;
}
