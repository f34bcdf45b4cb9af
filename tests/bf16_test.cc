// bfloat16 weights: the rounding itself, the model's accuracy against f32,
// and that every path (batch forward, streams, all targets) agrees.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "lstmkit/lstmkit.hpp"
#include "reference.h"
#include "test_util.h"

namespace lstmkit {
namespace {

using kernels::RoundToBF16;
using kernels::WidenBF16;
using testing::MaxAbsDiff;
using testing::RandomVector;

float FromBits(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

// The nearest bfloat16 by brute force: compare the two candidates around x
// in double, ties going to the even mantissa.
uint16_t NearestBF16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  const uint16_t low = static_cast<uint16_t>(bits >> 16);
  const uint16_t high = static_cast<uint16_t>(low + 1);
  const double d_low = std::abs(double{x} - WidenBF16(low));
  const double d_high = std::abs(double{x} - WidenBF16(high));
  if (d_low < d_high) return low;
  if (d_high < d_low) return high;
  return (low & 1) == 0 ? low : high;
}

TEST(RoundToBF16, IsRoundToNearestEven) {
  // Every 16-bit tail pattern of a few thousand leading bit patterns,
  // including exact ties (tail 0x8000) and values next to the largest float.
  for (uint32_t head = 0; head < 0x7F80; head += 7) {
    for (uint32_t tail : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu,
                          0x1234u, 0xC000u}) {
      for (uint32_t sign : {0u, 0x80000000u}) {
        const float x = FromBits(sign | (head << 16) | tail);
        const uint16_t want = NearestBF16(x);
        ASSERT_EQ(RoundToBF16(x), want) << std::hexfloat << x;
      }
    }
  }
  EXPECT_EQ(RoundToBF16(0.0f), 0x0000);
  EXPECT_EQ(RoundToBF16(-0.0f), 0x8000);
  EXPECT_EQ(WidenBF16(RoundToBF16(1.0f)), 1.0f);
  EXPECT_TRUE(std::isinf(WidenBF16(RoundToBF16(INFINITY))));
  EXPECT_TRUE(std::isnan(WidenBF16(RoundToBF16(NAN))));
  // A NaN whose payload sits only in the low bits must stay NaN, not become
  // infinity.
  EXPECT_TRUE(std::isnan(WidenBF16(RoundToBF16(FromBits(0x7F800001u)))));
  // Past the largest bfloat16, rounding overflows to infinity as IEEE says.
  EXPECT_TRUE(std::isinf(WidenBF16(RoundToBF16(FromBits(0x7F7FFFFFu)))));
}

ModelConfig FixtureConfig() {
  ModelConfig config;
  config.input_size = 24;
  config.hidden_size = 48;
  config.num_layers = 2;
  config.output_size = 5;
  return config;
}

// Stated accuracy: on this fixture (weights U(-1/sqrt(H), 1/sqrt(H)), inputs
// in [-1, 1], 20 steps, 2 layers) bfloat16 weights move the outputs by at
// most 1e-3 from the f32 model (measured: 1.8e-4). The figure is printed.
TEST(BF16Weights, OutputsStayCloseToF32) {
  Model f32(FixtureConfig(), InitOptions{3});
  Model bf16 = f32;
  bf16.set_weight_precision(WeightPrecision::kBF16);
  EXPECT_EQ(bf16.weight_precision(), WeightPrecision::kBF16);
  const int seq_len = 20, batch = 4;
  const std::vector<float> x = RandomVector(seq_len * batch * 24, 4);
  const Output a = f32.Forward({seq_len, batch, x, {}, {}, {}});
  const Output b = bf16.Forward({seq_len, batch, x, {}, {}, {}});
  const double err = MaxAbsDiff(a.y, b.y);
  std::printf("[bf16] max |y_bf16 - y_f32| = %.3g over %zu outputs\n", err,
              a.y.size());
  EXPECT_LT(err, 1e-3);
  EXPECT_GT(err, 0.0) << "the weights were not rounded";
  // The parameters themselves stay f32.
  EXPECT_EQ(
      std::vector<float>(f32.parameters().begin(), f32.parameters().end()),
      std::vector<float>(bf16.parameters().begin(), bf16.parameters().end()));
}

// With bf16 weights the model computes exactly what the double reference
// computes from the rounded weights, up to f32 rounding.
TEST(BF16Weights, MatchesTheReferenceOnRoundedWeights) {
  Model model(FixtureConfig(), InitOptions{5});
  model.set_weight_precision(WeightPrecision::kBF16);
  const std::vector<float> x = RandomVector(7 * 3 * 24, 6);
  const Input input{7, 3, x, {}, {}, {}};
  reference::Problem problem = reference::MakeProblem(model, input);
  for (const std::string& name : model.parameter_names()) {
    if (name.rfind("bias", 0) == 0 || name == "head.bias") continue;
    const auto info = model.parameter(name);
    const size_t offset = info.data() - model.parameters().data();
    for (size_t i = 0; i < info.size(); ++i) {
      problem.params[offset + i] = WidenBF16(RoundToBF16(info[i]));
    }
  }
  const reference::ForwardResult ref = reference::Forward(problem);
  EXPECT_LT(MaxAbsDiff(model.Forward(input).y, ref.y), 2e-6);
}

// Streams read bfloat16 panels, batch forward reads the same values widened:
// the bits must agree, on every target and thread count.
TEST(BF16Weights, StreamsMatchForwardBitwise) {
  for (const std::string& target : AvailableTargets()) {
    SetTarget(target);
    Model model(FixtureConfig(), InitOptions{7});
    model.set_weight_precision(WeightPrecision::kBF16);
    const int steps = 9;
    const std::vector<float> x = RandomVector(steps * 24, 8);
    const Output expected = model.Forward({steps, 1, x, {}, {}, {}});
    for (int threads : {1, 2, 3}) {
      model.set_threads(threads);
      Stream stream(model);
      std::vector<float> y(steps * 5);
      stream.Chunk(steps, x, y);
      EXPECT_EQ(y, expected.y) << target << ", " << threads << " threads";
    }
  }
  SetTarget(AvailableTargets().front());
}

TEST(BF16Weights, TrainingUpdatesF32ParametersAndRepacks) {
  Model model(FixtureConfig(), InitOptions{9});
  model.set_weight_precision(WeightPrecision::kBF16);
  const std::vector<float> x = RandomVector(5 * 2 * 24, 10);
  const std::vector<float> y = RandomVector(5 * 2 * 5, 11);
  Target target;
  target.values = y;
  Gradients grads;
  const float before = model.ComputeLoss({5, 2, x, {}, {}, {}}, target, {});
  OptimizerConfig sgd;
  sgd.kind = OptimizerConfig::Kind::kSgd;
  sgd.learning_rate = 0.5f;
  Optimizer optimizer(sgd);
  for (int i = 0; i < 5; ++i) {
    model.ComputeGradients({5, 2, x, {}, {}, {}}, target, {}, &grads);
    optimizer.Step(&model, grads);
  }
  EXPECT_LT(model.ComputeLoss({5, 2, x, {}, {}, {}}, target, {}), before);
  EXPECT_EQ(model.weight_precision(), WeightPrecision::kBF16);
}

}  // namespace
}  // namespace lstmkit
