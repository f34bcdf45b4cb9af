#include "lstmkit_bench.h"

#include <chrono>
#include <vector>

#include "checksum.h"
#include "lstmkit/lstmkit.hpp"

namespace lstmkit::cli {
namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

// Inputs come from a different stream than the weights, which the model
// draws from the seed itself.
uint64_t InputSeed(const BenchCase& c) { return c.seed ^ 0x5eed1e55u; }

Model BuildModel(const BenchCase& c) {
  ModelConfig config;
  config.input_size = c.input_size;
  config.hidden_size = c.hidden_size;
  config.num_layers = c.layers;
  config.bidirectional = c.bidirectional;
  config.proj_size = c.proj_size;
  Model model(config, InitOptions{c.seed});
  model.set_threads(c.threads);
  // bf16 weights: the matrices rounded once, everything else f32.
  if (c.dtype == "bf16") model.set_weight_precision(WeightPrecision::kBF16);
  return model;
}

uint64_t ChecksumOf(Span<const float> values) {
  Fnv1a64 hash;
  hash.Add(values.data(), values.size());
  return hash.value();
}

// Each repetition restarts the stream from the zero state, so every
// repetition computes the same outputs and the checksum does not depend on
// --repeat.
BenchResult RunStep(const BenchCase& c) {
  const Model model = BuildModel(c);
  const std::vector<float> x =
      PatternInput(SequenceElements(c, c.input_size), InputSeed(c));
  // Validate() refused --bidirectional here: y_t is one direction's P.
  const int width = OutputWidth(c);
  std::vector<float> y(SequenceElements(c, width));
  Stream stream(model);
  BenchResult result;
  for (int rep = 0; rep < kWarmupRepetitions + c.repeat; ++rep) {
    const bool timed = rep >= kWarmupRepetitions;
    stream.Reset();
    for (int t = 0; t < c.seq_len; ++t) {
      const Span<const float> x_t(x.data() + size_t{1} * t * c.input_size,
                                  c.input_size);
      const Span<float> y_t(y.data() + size_t{1} * t * width, width);
      const Clock::time_point start = Clock::now();
      stream.Step(x_t, y_t);
      if (timed) result.samples_ms.push_back(MillisecondsSince(start));
    }
  }
  result.checksum = ChecksumOf(y);
  return result;
}

BenchResult RunInfer(const BenchCase& c) {
  const Model model = BuildModel(c);
  const std::vector<float> x =
      PatternInput(SequenceElements(c, c.input_size), InputSeed(c));
  const Input input{c.seq_len, c.batch, x, {}, {}, {}};
  Output output;
  BenchResult result;
  for (int rep = 0; rep < kWarmupRepetitions + c.repeat; ++rep) {
    const Clock::time_point start = Clock::now();
    model.Forward(input, &output);
    if (rep >= kWarmupRepetitions) {
      result.samples_ms.push_back(MillisecondsSince(start));
    }
  }
  result.checksum = ChecksumOf(output.y);
  return result;
}

// The mean squared error against zeros has the elementwise gradient 2y/N,
// the same work as the gradient of the sum that the contract names. As in
// a training loop (and in PyTorch, whose x does not require a gradient),
// the input's own gradient is not computed. The checksum covers the
// parameters after the warm-up and timed steps.
BenchResult RunTrain(const BenchCase& c) {
  Model model = BuildModel(c);
  const std::vector<float> x =
      PatternInput(SequenceElements(c, c.input_size), InputSeed(c));
  const std::vector<float> zeros(SequenceElements(c, OutputWidth(c)), 0.0f);
  const Input input{c.seq_len, c.batch, x, {}, {}, {}};
  Target target;
  target.values = zeros;
  LossConfig loss;
  loss.kind = LossKind::kMeanSquaredError;
  OptimizerConfig sgd;
  sgd.kind = OptimizerConfig::Kind::kSgd;
  sgd.learning_rate = kTrainLearningRate;
  Optimizer optimizer(sgd);
  Gradients gradients;
  BenchResult result;
  for (int rep = 0; rep < kWarmupRepetitions + c.repeat; ++rep) {
    const Clock::time_point start = Clock::now();
    model.ComputeGradients(input, target, loss, &gradients,
                           GradientOptions{false});
    optimizer.Step(&model, gradients);
    if (rep >= kWarmupRepetitions) {
      result.samples_ms.push_back(MillisecondsSince(start));
    }
  }
  result.checksum = ChecksumOf(model.parameters());
  return result;
}

}  // namespace

BenchResult RunLstmkitBench(const BenchCase& c) {
  Validate(c);
  switch (c.mode) {
    case BenchMode::kStep:
      return RunStep(c);
    case BenchMode::kInfer:
      return RunInfer(c);
    case BenchMode::kTrain:
      return RunTrain(c);
  }
  throw UsageError("unknown --mode");
}

}  // namespace lstmkit::cli
