// Training end to end: the Trainer and both optimizers must learn real tasks,
// repeat themselves exactly under the same seeds, and report what they did.
//
// The convergence tests use seeded data and fixed hyperparameters chosen to
// pass with a margin: while tuning, each configuration was run with 40 other
// data, initialization and shuffle seeds, and the worst run is quoted beside
// each bound. Each takes under a second in a Release build.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "rng.h"

namespace lstmkit {
namespace {

using internal::Rng;

std::vector<float> Parameters(const Model& model) {
  const Span<const float> p = model.parameters();
  return std::vector<float>(p.begin(), p.end());
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Standard normal by Box-Muller on the library's portable generator, so the
// data are the same with any standard library.
float Gaussian(Rng* rng) {
  const float u1 = 1.0f - rng->NextUnit();  // in (0, 1]: log stays finite
  const float u2 = rng->NextUnit();
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318531f * u2);
}

// The adding problem (Hochreiter & Schmidhuber, 1997): two features per step,
// a value uniform in [0, 1) and a marker that is 1 at exactly two random
// steps; the target is the sum of the two marked values. Solving it needs
// memory across the whole sequence. Predicting the mean (1) scores the
// variance of the sum, 1/6.
Dataset AddingProblem(int num_samples, int seq_len, uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.num_samples = num_samples;
  data.seq_len = seq_len;
  data.inputs.assign(static_cast<size_t>(num_samples) * seq_len * 2, 0.0f);
  data.targets.resize(num_samples);
  for (int n = 0; n < num_samples; ++n) {
    float* x = data.inputs.data() + static_cast<size_t>(n) * seq_len * 2;
    for (int t = 0; t < seq_len; ++t) x[2 * t] = rng.NextUnit();
    const int first = static_cast<int>(rng.Below(seq_len));
    int second = first;
    while (second == first) second = static_cast<int>(rng.Below(seq_len));
    x[2 * first + 1] = 1.0f;
    x[2 * second + 1] = 1.0f;
    data.targets[n] = x[2 * first] + x[2 * second];
  }
  return data;
}

// Windows of a noisy sine s_t = sin(2 pi t / period) + noise, each labelled
// with the value that follows it; the first 80 % of the windows train, the
// rest test, after a gap of one window so that no value a test window reads
// or predicts was seen in training.
struct SineTask {
  static constexpr int kWindow = 16;
  static constexpr float kPeriod = 20.0f;
  static constexpr float kNoise = 0.1f;  // standard deviation
  Dataset train, test;
};

SineTask NoisySine(int length, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> series(length);
  for (int t = 0; t < length; ++t) {
    series[t] = std::sin(6.28318531f * t / SineTask::kPeriod) +
                SineTask::kNoise * Gaussian(&rng);
  }
  auto windows = [&](int first, int last) {
    Dataset data;
    data.num_samples = last - first;
    data.seq_len = SineTask::kWindow;
    for (int start = first; start < last; ++start) {
      data.inputs.insert(data.inputs.end(), series.begin() + start,
                         series.begin() + start + SineTask::kWindow);
      data.targets.push_back(series[start + SineTask::kWindow]);
    }
    return data;
  };
  const int count = length - SineTask::kWindow;
  const int train = count * 8 / 10;
  SineTask task;
  task.train = windows(0, train);
  task.test = windows(train + SineTask::kWindow, count);
  return task;
}

ModelConfig LastStepRegressor(int input_size, int hidden_size) {
  ModelConfig config;
  config.input_size = input_size;
  config.hidden_size = hidden_size;
  config.output_size = 1;
  config.output_steps = OutputSteps::kLastStep;
  return config;
}

// Test MSE computed with Model::Forward on the whole set as one batch, so the
// figure does not rest on the Trainer's own batching and loss bookkeeping.
double ForwardMse(const Model& model, const Dataset& data) {
  const int n = data.num_samples, steps = data.seq_len;
  const int in = model.config().input_size;
  std::vector<float> x(data.inputs.size());
  for (int b = 0; b < n; ++b) {
    for (int t = 0; t < steps; ++t) {
      for (int i = 0; i < in; ++i) {
        x[(static_cast<size_t>(t) * n + b) * in + i] =
            data.inputs[(static_cast<size_t>(b) * steps + t) * in + i];
      }
    }
  }
  const Output out = model.Forward(Input{steps, n, x, {}, {}, {}});
  double sum = 0.0;
  for (int b = 0; b < n; ++b) {
    const double diff = double{out.y[b]} - data.targets[b];
    sum += diff * diff;
  }
  return sum / n;
}

// The error of always predicting the training targets' mean.
double MeanPredictorMse(const Dataset& train, const Dataset& test) {
  double mean = 0.0;
  for (float y : train.targets) mean += y;
  mean /= train.targets.size();
  double sum = 0.0;
  for (float y : test.targets) sum += (y - mean) * (y - mean);
  return sum / test.targets.size();
}

// The error of predicting that the series repeats its last value.
double RepeatLastMse(const Dataset& data) {
  double sum = 0.0;
  for (int n = 0; n < data.num_samples; ++n) {
    const float last =
        data.inputs[(static_cast<size_t>(n) + 1) * data.seq_len - 1];
    sum += (data.targets[n] - last) * (data.targets[n] - last);
  }
  return sum / data.num_samples;
}

// ---- Convergence ------------------------------------------------------------

// T = 30. The loss sits on the mean-predictor plateau (~0.167) for a few
// epochs, then drops within one or two. Over 40 seeds the drop came by epoch
// 7 and the test MSE after 10 epochs was at most 0.003 (median 0.0008); two
// more epochs are the margin for a late drop.
TEST(TrainingConvergence, AddingProblemWithAdam) {
  constexpr int kSteps = 30;
  const Dataset train = AddingProblem(2000, kSteps, 101);
  const Dataset test = AddingProblem(1000, kSteps, 202);
  const double mean_mse = MeanPredictorMse(train, test);
  ASSERT_NEAR(mean_mse, 1.0 / 6.0, 0.03) << "the generator is broken";

  Model model(LastStepRegressor(2, 16), InitOptions{7, true});
  TrainerConfig config;
  config.epochs = 12;
  config.batch_size = 8;
  config.optimizer.learning_rate = 0.02f;
  config.clip_norm = 1.0f;
  config.seed = 11;
  Trainer trainer(&model, config);
  const std::vector<EpochReport> reports = trainer.Fit(train);

  const double test_mse = ForwardMse(model, test);
  std::printf("adding problem T=%d: mean-predictor MSE %.4f, test MSE %.5f\n",
              kSteps, mean_mse, test_mse);
  EXPECT_LT(test_mse, 0.02);
  EXPECT_NEAR(trainer.Evaluate(test), test_mse, 1e-5);
  EXPECT_LT(reports.back().train_loss, 0.02);
}

// Noise variance 0.01. A predictor that knew the clean signal would score
// 0.01; the mean scores ~0.51 and repeating the last value ~0.07. Over 40
// seeds the test MSE was 0.009-0.015 (median 0.012). A larger learning rate
// (0.005 with batches of 16) converges sooner but then wanders between 0.012
// and 0.024 from epoch to epoch.
TEST(TrainingConvergence, NoisySineWithAdam) {
  const SineTask task = NoisySine(1200, 5);
  const double noise_variance = SineTask::kNoise * SineTask::kNoise;
  const double mean_mse = MeanPredictorMse(task.train, task.test);
  const double last_mse = RepeatLastMse(task.test);

  Model model(LastStepRegressor(1, 16), InitOptions{3});
  TrainerConfig config;
  config.epochs = 30;
  config.batch_size = 32;
  config.optimizer.learning_rate = 0.003f;
  config.clip_norm = 1.0f;
  config.seed = 4;
  Trainer trainer(&model, config);
  trainer.Fit(task.train);

  const double test_mse = ForwardMse(model, task.test);
  std::printf(
      "noisy sine, Adam: mean %.4f, repeat-last %.4f, noise %.4f, "
      "test MSE %.5f\n",
      mean_mse, last_mse, noise_variance, test_mse);
  EXPECT_LT(test_mse, 2.0 * noise_variance);
  EXPECT_LT(test_mse, last_mse / 3.0);
  EXPECT_LT(test_mse, mean_mse / 20.0);
}

// Momentum 0.9 with lr 0.03. Over 40 seeds the test MSE was 0.011-0.017
// (median 0.013); with lr 0.1 the worst seeds ended at 0.025.
TEST(TrainingConvergence, NoisySineWithSgdMomentum) {
  const SineTask task = NoisySine(1200, 6);
  const double noise_variance = SineTask::kNoise * SineTask::kNoise;
  const double mean_mse = MeanPredictorMse(task.train, task.test);

  Model model(LastStepRegressor(1, 16), InitOptions{8});
  TrainerConfig config;
  config.epochs = 15;
  config.batch_size = 16;
  config.optimizer.kind = OptimizerConfig::Kind::kSgd;
  config.optimizer.learning_rate = 0.03f;
  config.optimizer.momentum = 0.9f;
  config.clip_norm = 1.0f;
  config.seed = 9;
  Trainer trainer(&model, config);
  const std::vector<EpochReport> reports = trainer.Fit(task.train);

  const double test_mse = ForwardMse(model, task.test);
  std::printf(
      "noisy sine, SGD: first epoch %.4f, last epoch %.4f, test MSE "
      "%.5f\n",
      reports.front().train_loss, reports.back().train_loss, test_mse);
  EXPECT_LT(test_mse, 2.5 * noise_variance);
  EXPECT_LT(test_mse, mean_mse / 20.0);
  EXPECT_LT(reports.back().train_loss, reports.front().train_loss / 3.0);
}

// ---- Determinism ------------------------------------------------------------

struct TrainingRun {
  std::vector<float> parameters;
  std::vector<EpochReport> reports;
};

TrainingRun TrainSmallSine(uint64_t init_seed, uint64_t shuffle_seed,
                           bool shuffle) {
  const SineTask task = NoisySine(200, 1);
  Model model(LastStepRegressor(1, 8), InitOptions{init_seed});
  TrainerConfig config;
  config.epochs = 3;
  config.batch_size = 8;
  config.optimizer.learning_rate = 0.01f;
  config.clip_norm = 0.5f;
  config.seed = shuffle_seed;
  config.shuffle = shuffle;
  Trainer trainer(&model, config);
  TrainingRun run;
  run.reports = trainer.Fit(task.train, &task.test);
  run.parameters = Parameters(model);
  return run;
}

TEST(TrainerDeterminism, SameSeedsGiveBitwiseIdenticalTraining) {
  const TrainingRun a = TrainSmallSine(1, 2, true);
  const TrainingRun b = TrainSmallSine(1, 2, true);
  EXPECT_TRUE(BitwiseEqual(a.parameters, b.parameters));
  ASSERT_EQ(a.reports.size(), b.reports.size());
  for (size_t e = 0; e < a.reports.size(); ++e) {
    EXPECT_EQ(a.reports[e].train_loss, b.reports[e].train_loss) << e;
    EXPECT_EQ(a.reports[e].validation_loss, b.reports[e].validation_loss) << e;
  }
  // Training happened at all: otherwise equality proves nothing.
  Model initial(LastStepRegressor(1, 8), InitOptions{1});
  EXPECT_FALSE(BitwiseEqual(a.parameters, Parameters(initial)));
}

TEST(TrainerDeterminism, ShuffleSeedChangesTheParameters) {
  const TrainingRun a = TrainSmallSine(1, 2, true);
  const TrainingRun b = TrainSmallSine(1, 3, true);
  EXPECT_FALSE(BitwiseEqual(a.parameters, b.parameters));
  EXPECT_NE(a.reports.front().train_loss, b.reports.front().train_loss);
}

TEST(TrainerDeterminism, WithoutShufflingTheShuffleSeedDoesNotMatter) {
  const TrainingRun a = TrainSmallSine(1, 2, false);
  const TrainingRun b = TrainSmallSine(1, 3, false);
  EXPECT_TRUE(BitwiseEqual(a.parameters, b.parameters));
}

// ---- nn.LSTM options in the Trainer -----------------------------------------

// N = 6 samples of T = 5 steps, I = 3, a target of O = 2 on every step.
Dataset EveryStepData(uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.num_samples = 6;
  data.seq_len = 5;
  for (int i = 0; i < 6 * 5 * 3; ++i) data.inputs.push_back(Gaussian(&rng));
  for (int i = 0; i < 6 * 5 * 2; ++i) data.targets.push_back(Gaussian(&rng));
  return data;
}

ModelConfig EveryStepConfig() {
  ModelConfig config;
  config.input_size = 3;
  config.hidden_size = 6;
  config.num_layers = 2;
  config.output_size = 2;
  return config;
}

// The Dataset is sample-major whatever the model's layout; the Trainer
// hands a batch-first model its batches batch-major, which computes exactly
// what the time-major model computes.
TEST(TrainerOptions, BatchFirstModelTrainsExactlyLikeTimeMajor) {
  for (const OutputSteps steps :
       {OutputSteps::kEveryStep, OutputSteps::kLastStep}) {
    ModelConfig config = EveryStepConfig();
    config.bidirectional = true;
    config.output_steps = steps;
    ModelConfig batch_first = config;
    batch_first.batch_first = true;
    Dataset data = EveryStepData(3);
    if (steps == OutputSteps::kLastStep) data.targets.resize(6 * 2);
    TrainerConfig tc;
    tc.epochs = 3;
    tc.batch_size = 4;  // a full batch and a short one
    tc.seed = 5;
    Model time_major(config, InitOptions{2});
    Model batch_major(batch_first, InitOptions{2});
    Trainer a(&time_major, tc), b(&batch_major, tc);
    const std::vector<EpochReport> ra = a.Fit(data, &data);
    const std::vector<EpochReport> rb = b.Fit(data, &data);
    EXPECT_TRUE(BitwiseEqual(Parameters(time_major), Parameters(batch_major)));
    EXPECT_EQ(ra.back().train_loss, rb.back().train_loss);
    EXPECT_EQ(ra.back().validation_loss, rb.back().validation_loss);
    EXPECT_EQ(a.Evaluate(data), b.Evaluate(data));
    EXPECT_LT(ra.back().train_loss, ra.front().train_loss);
  }
}

// Each optimizer step draws new dropout masks. With a learning rate far too
// small to move any parameter and no shuffling, every epoch computes the
// loss of the same parameters on the same single batch in the same order:
// the losses differ only through the masks.
TEST(TrainerOptions, DropoutMasksChangeFromStepToStep) {
  for (const float dropout : {0.0f, 0.5f}) {
    ModelConfig config = EveryStepConfig();
    config.num_layers = 3;
    config.dropout = dropout;
    Model model(config, InitOptions{4});
    const std::vector<float> initial = Parameters(model);
    TrainerConfig tc;
    tc.epochs = 3;
    tc.batch_size = 6;
    tc.optimizer.kind = OptimizerConfig::Kind::kSgd;
    tc.optimizer.learning_rate = 1e-30f;
    tc.shuffle = false;
    Trainer trainer(&model, tc);
    const std::vector<EpochReport> reports = trainer.Fit(EveryStepData(7));
    ASSERT_TRUE(BitwiseEqual(Parameters(model), initial));
    ASSERT_EQ(reports.size(), 3u);
    if (dropout == 0.0f) {
      EXPECT_EQ(reports[0].train_loss, reports[1].train_loss);
      EXPECT_EQ(reports[1].train_loss, reports[2].train_loss);
    } else {
      EXPECT_NE(reports[0].train_loss, reports[1].train_loss);
      EXPECT_NE(reports[1].train_loss, reports[2].train_loss);
      EXPECT_NE(reports[0].train_loss, reports[2].train_loss);
    }
  }
}

// The masks follow the trainer's seed, which therefore matters even without
// shuffling (compare WithoutShufflingTheShuffleSeedDoesNotMatter).
TEST(TrainerOptions, DropoutMasksFollowTheTrainerSeed) {
  auto train = [](uint64_t seed) {
    ModelConfig config = EveryStepConfig();
    config.dropout = 0.3f;
    Model model(config, InitOptions{4});
    TrainerConfig tc;
    tc.epochs = 2;
    tc.batch_size = 3;
    tc.shuffle = false;
    tc.seed = seed;
    Trainer(&model, tc).Fit(EveryStepData(7));
    return Parameters(model);
  };
  EXPECT_TRUE(BitwiseEqual(train(1), train(1)));
  EXPECT_FALSE(BitwiseEqual(train(1), train(2)));
}

// ---- Initialization ---------------------------------------------------------

ModelConfig TwoLayerConfig() {
  ModelConfig config;
  config.input_size = 3;
  config.hidden_size = 25;
  config.num_layers = 2;
  config.output_size = 4;
  return config;
}

TEST(ModelInitialization, EveryParameterIsWithinTheTorchBound) {
  const Model model(TwoLayerConfig(), InitOptions{12});
  const float bound = static_cast<float>(1.0 / std::sqrt(25.0));
  for (const std::string& name : model.parameter_names()) {
    const Span<const float> p = model.parameter(name);
    ASSERT_FALSE(p.empty()) << name;
    double low = INFINITY, high = -INFINITY, sum = 0.0;
    for (float v : p) {
      EXPECT_LE(std::abs(v), bound) << name;
      low = std::min(low, double{v});
      high = std::max(high, double{v});
      sum += v;
    }
    // The draw spans the whole interval, not a narrower one, and is centred.
    // Of 100 or more uniform values, none falls in the outer 5 % on a given
    // side with probability under 0.6 %, and the mean strays past 0.2 * bound
    // with probability under 0.1 %; smaller tensors are not checked.
    if (p.size() >= 100) {
      EXPECT_LT(low, -0.9 * bound) << name;
      EXPECT_GT(high, 0.9 * bound) << name;
      EXPECT_LT(std::abs(sum / p.size()), 0.2 * bound) << name;
    }
  }
}

TEST(ModelInitialization, SameSeedSameParametersOtherSeedOthers) {
  const Model a(TwoLayerConfig(), InitOptions{12});
  const Model b(TwoLayerConfig(), InitOptions{12});
  const Model c(TwoLayerConfig(), InitOptions{13});
  EXPECT_TRUE(BitwiseEqual(Parameters(a), Parameters(b)));
  EXPECT_FALSE(BitwiseEqual(Parameters(a), Parameters(c)));
}

TEST(ModelInitialization, ForgetBiasOneOpensOnlyTheForgetGate) {
  constexpr int kHidden = 25;
  const Model plain(TwoLayerConfig(), InitOptions{12, false});
  const Model open(TwoLayerConfig(), InitOptions{12, true});
  for (const std::string& name : plain.parameter_names()) {
    const Span<const float> p = plain.parameter(name);
    const Span<const float> q = open.parameter(name);
    ASSERT_EQ(p.size(), q.size()) << name;
    const bool ih = name.rfind("bias_ih_l", 0) == 0;
    const bool hh = name.rfind("bias_hh_l", 0) == 0;
    for (size_t r = 0; r < p.size(); ++r) {
      const bool forget = (ih || hh) && r >= kHidden && r < 2 * kHidden;
      if (forget) {
        EXPECT_EQ(q[r], ih ? 1.0f : 0.0f) << name << "[" << r << "]";
      } else {
        EXPECT_EQ(q[r], p[r]) << name << "[" << r << "]";
      }
    }
  }
}

// ---- Reports ----------------------------------------------------------------

TEST(TrainerReports, OneReportPerEpochAndOnEpochSeesEach) {
  const SineTask task = NoisySine(200, 2);
  Model model(LastStepRegressor(1, 8), InitOptions{1});
  TrainerConfig config;
  config.epochs = 4;
  config.batch_size = 16;
  std::vector<EpochReport> seen;
  config.on_epoch = [&](const EpochReport& r) { seen.push_back(r); };
  Trainer trainer(&model, config);
  const std::vector<EpochReport> reports = trainer.Fit(task.train);

  ASSERT_EQ(reports.size(), 4u);
  ASSERT_EQ(seen.size(), 4u);
  for (int e = 0; e < 4; ++e) {
    EXPECT_EQ(reports[e].epoch, e + 1);
    EXPECT_EQ(seen[e].epoch, e + 1);
    EXPECT_EQ(seen[e].train_loss, reports[e].train_loss);
    EXPECT_TRUE(std::isfinite(reports[e].train_loss));
    EXPECT_GT(reports[e].train_loss, 0.0);
    EXPECT_GE(reports[e].seconds, 0.0);
    EXPECT_TRUE(std::isnan(reports[e].validation_loss));
  }
}

// on_epoch runs right after the epoch's last step, so Evaluate inside it sees
// the same parameters the report's validation loss was computed with.
TEST(TrainerReports, ValidationLossIsEvaluateOnTheValidationSet) {
  const SineTask task = NoisySine(200, 3);
  Model model(LastStepRegressor(1, 8), InitOptions{1});
  TrainerConfig config;
  config.epochs = 3;
  config.batch_size = 16;
  config.optimizer.learning_rate = 0.01f;
  const Trainer* self = nullptr;
  std::vector<double> evaluated;
  config.on_epoch = [&](const EpochReport&) {
    evaluated.push_back(self->Evaluate(task.test));
  };
  Trainer trainer(&model, config);
  self = &trainer;
  const std::vector<EpochReport> reports = trainer.Fit(task.train, &task.test);

  ASSERT_EQ(reports.size(), 3u);
  ASSERT_EQ(evaluated.size(), 3u);
  for (int e = 0; e < 3; ++e) {
    EXPECT_EQ(reports[e].validation_loss, evaluated[e]) << e;
  }
  // The model changed between epochs, so the check above compared
  // different numbers each time, not one stale value.
  EXPECT_NE(reports[0].validation_loss, reports[2].validation_loss);
  EXPECT_NEAR(reports.back().validation_loss, ForwardMse(model, task.test),
              1e-5);
}

}  // namespace
}  // namespace lstmkit
