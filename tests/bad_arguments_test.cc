// Every public entry point rejects bad arguments with lstmkit::Error, and the
// message names the argument and what was expected of it (checked by
// substrings, so that wording may improve without breaking the tests). A
// rejected call leaves the model as it was. Training that produces a NaN or an
// infinity stops with lstmkit::Error and keeps the parameters from before the
// failing step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "test_util.h"

namespace lstmkit {
namespace {

using testing::RandomVector;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int kMaxDimension = 1 << 20;

// Success only if `body` throws lstmkit::Error whose message contains every
// one of `parts`. Any other outcome (no exception, another exception type, a
// message missing a part) is a failure that quotes what happened.
template <typename Body>
::testing::AssertionResult ThrowsError(
    Body&& body, std::initializer_list<const char*> parts) {
  try {
    body();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const char* part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "the message \"" << message << "\" does not contain \""
               << part << "\"";
      }
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "threw " << typeid(e).name() << " (\"" << e.what()
           << "\") instead of lstmkit::Error";
  } catch (...) {
    return ::testing::AssertionFailure()
           << "threw something other than lstmkit::Error";
  }
  return ::testing::AssertionFailure() << "threw nothing";
}

std::vector<float> Parameters(const Model& model) {
  const Span<const float> p = model.parameters();
  return std::vector<float>(p.begin(), p.end());
}

bool AllFinite(const std::vector<float>& values) {
  for (float v : values) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

// I = 3, H = 4, L = 2, O = 2, every step; inputs of T = 5, B = 2.
ModelConfig SmallConfig() {
  ModelConfig config;
  config.input_size = 3;
  config.hidden_size = 4;
  config.num_layers = 2;
  config.output_size = 2;
  return config;
}

ModelConfig SoftmaxConfig() {
  ModelConfig config = SmallConfig();
  config.output_size = 3;
  config.output_activation = OutputActivation::kSoftmax;
  return config;
}

constexpr int kT = 5, kB = 2;

struct Batch {
  std::vector<float> x = RandomVector(kT * kB * 3, 1);
  std::vector<float> h0 = RandomVector(2 * kB * 4, 2);
  std::vector<float> c0 = RandomVector(2 * kB * 4, 3);
  std::vector<float> values = RandomVector(kT * kB * 2, 4);
  std::vector<int32_t> labels = std::vector<int32_t>(kT * kB, 1);

  Input input() const { return Input{kT, kB, x, h0, c0, {}}; }
  Target mse() const { return Target{values, {}}; }
  Target labelled() const { return Target{{}, labels}; }
};

LossConfig CrossEntropy() {
  LossConfig loss;
  loss.kind = LossKind::kCrossEntropy;
  return loss;
}

TEST(ThrowsErrorHelper, FailsUnlessTheRightErrorIsThrown) {
  EXPECT_TRUE(ThrowsError([] { throw Error("input.x must hold 3"); },
                          {"input.x", "3"}));
  EXPECT_FALSE(ThrowsError([] {}, {}));
  EXPECT_FALSE(ThrowsError([] { throw Error("input.x"); }, {"input.h0"}));
  EXPECT_FALSE(
      ThrowsError([] { throw std::runtime_error("input.x"); }, {"input.x"}));
  EXPECT_FALSE(ThrowsError([] { throw 1; }, {}));
}

// ---- Model constructor -----------------------------------------------------

TEST(ModelConstructor, RejectsSizesOutOfRange) {
  struct Field {
    const char* name;
    int ModelConfig::*member;
    int min_value;
    const char* range;
  };
  const Field fields[] = {
      {"config.input_size", &ModelConfig::input_size, 1, "[1, 1048576]"},
      {"config.hidden_size", &ModelConfig::hidden_size, 1, "[1, 1048576]"},
      {"config.num_layers", &ModelConfig::num_layers, 1, "[1, 1048576]"},
      {"config.output_size", &ModelConfig::output_size, 0, "[0, 1048576]"},
  };
  for (const Field& f : fields) {
    for (int bad :
         {f.min_value - 1, -7, kMaxDimension + 1,
          std::numeric_limits<int>::max(), std::numeric_limits<int>::min()}) {
      SCOPED_TRACE(std::string(f.name) + " = " + std::to_string(bad));
      ModelConfig config = SmallConfig();
      config.*f.member = bad;
      const std::string got = "got " + std::to_string(bad);
      EXPECT_TRUE(ThrowsError([&] { Model model(config); },
                              {f.name, f.range, got.c_str()}));
    }
  }
}

TEST(ModelConstructor, AcceptsTheEdgesOfTheRanges) {
  ModelConfig config;
  config.input_size = 1;
  config.hidden_size = 1;
  config.num_layers = 1;
  config.output_size = 0;
  EXPECT_NO_THROW(Model model(config));
}

// Every field is within its own range here, but the model would need 2^43
// floats (32 TiB): the constructor must say so with lstmkit::Error rather than
// let std::bad_alloc (or, under AddressSanitizer, an abort) escape. Run in a
// child process so that an abort is reported as a failure, not a crash.
TEST(ModelConstructorDeathTest, RejectsAModelTooLargeToAllocate) {
  ModelConfig config;
  config.input_size = kMaxDimension;
  config.hidden_size = kMaxDimension;
  // Exit codes: 0 the right error, 10 an Error without "parameters" in it,
  // 11 std::bad_alloc, 12 another exception, 13 no exception (1 is what
  // AddressSanitizer exits with when it refuses the allocation).
  EXPECT_EXIT(
      {
        int code = 13;
        try {
          Model model(config);
        } catch (const Error& e) {
          const std::string message = e.what();
          code = message.find("parameters") == std::string::npos ? 10 : 0;
        } catch (const std::bad_alloc&) {
          code = 11;
        } catch (...) {
          code = 12;
        }
        std::_Exit(code);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ModelConstructor, RejectsSoftmaxWithoutAHead) {
  ModelConfig config = SmallConfig();
  config.output_size = 0;
  config.output_activation = OutputActivation::kSoftmax;
  EXPECT_TRUE(ThrowsError([&] { Model model(config); },
                          {"config.output_activation = kSoftmax",
                           "config.output_size must be positive", "got 0"}));
}

TEST(ModelConstructor, RejectsEnumValuesOutOfRange) {
  ModelConfig config = SmallConfig();
  config.output_activation = static_cast<OutputActivation>(7);
  EXPECT_TRUE(
      ThrowsError([&] { Model model(config); },
                  {"config.output_activation", "kIdentity or kSoftmax"}));
  config = SmallConfig();
  config.output_steps = static_cast<OutputSteps>(-1);
  EXPECT_TRUE(ThrowsError([&] { Model model(config); },
                          {"config.output_steps", "kEveryStep or kLastStep"}));
}

TEST(ModelConstructor, RejectsProjectionAndDropoutOutOfRange) {
  // SmallConfig has H = 4: a projection must be smaller.
  for (int proj : {4, 9, -1}) {
    ModelConfig config = SmallConfig();
    config.proj_size = proj;
    const std::string got = "got " + std::to_string(proj);
    EXPECT_TRUE(
        ThrowsError([&] { Model model(config); },
                    {"config.proj_size must be in [0, config.hidden_size = 4)",
                     got.c_str()}));
  }
  for (float dropout : {1.0f, 1.5f, -0.25f, kNaN}) {
    ModelConfig config = SmallConfig();
    config.dropout = dropout;
    EXPECT_TRUE(ThrowsError([&] { Model model(config); },
                            {"config.dropout must be in [0, 1)", "got"}));
  }
}

// ---- Model::Forward --------------------------------------------------------

TEST(ModelForward, RejectsAWrongInputSize) {
  const Model model(SmallConfig(), InitOptions{1});
  Batch batch;
  batch.x.pop_back();
  EXPECT_TRUE(ThrowsError(
      [&] { model.Forward(batch.input()); },
      {"input.x", "must hold 30 values", "[T][B][I] = [5][2][3]", "got 29"}));
  batch.x.resize(31);
  Output out;
  EXPECT_TRUE(ThrowsError([&] { model.Forward(batch.input(), &out); },
                          {"input.x", "must hold 30 values", "got 31"}));
  // x laid out for another input width: the message gives the shape
  // expected, so the mismatch in I can be read off it.
  batch.x.assign(kT * kB * 4, 0.0f);
  EXPECT_TRUE(ThrowsError([&] { model.Forward(batch.input()); },
                          {"input.x", "[5][2][3]", "got 40"}));
}

TEST(ModelForward, RejectsNullDataWithANonZeroSize) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  Input input = batch.input();
  input.x = Span<const float>(nullptr, batch.x.size());
  EXPECT_TRUE(
      ThrowsError([&] { model.Forward(input); }, {"input.x", "null", "30"}));
  input = batch.input();
  input.h0 = Span<const float>(nullptr, batch.h0.size());
  EXPECT_TRUE(
      ThrowsError([&] { model.Forward(input); }, {"input.h0", "null", "16"}));
  input = batch.input();
  input.c0 = Span<const float>(nullptr, batch.c0.size());
  EXPECT_TRUE(
      ThrowsError([&] { model.Forward(input); }, {"input.c0", "null", "16"}));
}

TEST(ModelForward, RejectsOneInitialStateWithoutTheOther) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  Input input = batch.input();
  input.c0 = {};
  EXPECT_TRUE(ThrowsError([&] { model.Forward(input); },
                          {"input.h0", "input.c0", "both"}));
  input = batch.input();
  input.h0 = {};
  EXPECT_TRUE(ThrowsError([&] { model.Forward(input); },
                          {"input.h0", "input.c0", "both"}));
}

TEST(ModelForward, RejectsWrongInitialStateSizes) {
  const Model model(SmallConfig(), InitOptions{1});
  Batch batch;
  batch.h0.pop_back();
  EXPECT_TRUE(ThrowsError([&] { model.Forward(batch.input()); },
                          {"input.h0", "must hold 16 values",
                           "[L*D][B][P] = [2][2][4]", "got 15"}));
  batch = Batch();
  batch.c0.push_back(0.0f);
  EXPECT_TRUE(ThrowsError([&] { model.Forward(batch.input()); },
                          {"input.c0", "must hold 16 values",
                           "[L*D][B][H] = [2][2][4]", "got 17"}));
}

TEST(ModelForward, RejectsSequenceLengthsOfTheWrongCountOrRange) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  const std::vector<int32_t> too_few(kB - 1, 1);
  Input input = batch.input();
  input.seq_lens = too_few;
  EXPECT_TRUE(ThrowsError([&] { model.Forward(input); },
                          {"input.seq_lens", "one length per sequence"}));
  for (int32_t bad : {0, -2, kT + 1}) {
    std::vector<int32_t> lengths(kB, kT);
    lengths[1] = bad;
    input.seq_lens = lengths;
    const std::string got = "got " + std::to_string(bad);
    EXPECT_TRUE(ThrowsError(
        [&] { model.Forward(input); },
        {"input.seq_lens[1]", "[1, input.seq_len = 5]", got.c_str()}));
  }
}

TEST(ModelForward, RejectsNonPositiveSequenceLengthOrBatch) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  for (int bad : {0, -1}) {
    const std::string got = "got " + std::to_string(bad);
    Input input = batch.input();
    input.seq_len = bad;
    EXPECT_TRUE(ThrowsError([&] { model.Forward(input); },
                            {"input.seq_len", "positive", got.c_str()}));
    input = batch.input();
    input.batch = bad;
    EXPECT_TRUE(ThrowsError([&] { model.Forward(input); },
                            {"input.batch", "positive", got.c_str()}));
  }
}

TEST(ModelForward, RejectsASequenceTimesBatchThatWouldOverflow) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  Input input = batch.input();
  input.seq_len = 1 << 16;
  input.batch = 1 << 16;
  EXPECT_TRUE(ThrowsError([&] { model.Forward(input); },
                          {"input.seq_len * input.batch", "2^31"}));
}

TEST(ModelForward, RejectsANullOutput) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  EXPECT_TRUE(ThrowsError([&] { model.Forward(batch.input(), nullptr); },
                          {"output", "null"}));
}

// ---- ComputeLoss and ComputeGradients --------------------------------------

TEST(ModelLoss, RejectsAWrongTargetSize) {
  const Model model(SmallConfig(), InitOptions{1});
  Batch batch;
  batch.values.pop_back();
  const LossConfig mse;
  Gradients grads;
  EXPECT_TRUE(ThrowsError(
      [&] { model.ComputeLoss(batch.input(), batch.mse(), mse); },
      {"target.values", "must hold 20 values", "[10][2]", "got 19"}));
  EXPECT_TRUE(ThrowsError(
      [&] { model.ComputeGradients(batch.input(), batch.mse(), mse, &grads); },
      {"target.values", "must hold 20 values", "got 19"}));

  ModelConfig last = SmallConfig();
  last.output_steps = OutputSteps::kLastStep;
  const Model last_model(last, InitOptions{1});
  batch = Batch();
  EXPECT_TRUE(ThrowsError(
      [&] { last_model.ComputeLoss(batch.input(), batch.mse(), mse); },
      {"target.values", "must hold 4 values", "[2][2]", "got 20"}));
}

TEST(ModelLoss, RejectsAWrongLabelCount) {
  const Model model(SoftmaxConfig(), InitOptions{1});
  Batch batch;
  batch.labels.resize(3);
  Gradients grads;
  EXPECT_TRUE(ThrowsError(
      [&] {
        model.ComputeLoss(batch.input(), batch.labelled(), CrossEntropy());
      },
      {"target.labels", "must hold 10 values", "got 3"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        model.ComputeGradients(batch.input(), batch.labelled(), CrossEntropy(),
                               &grads);
      },
      {"target.labels", "must hold 10 values", "got 3"}));
}

TEST(ModelLoss, RejectsLabelsOutOfRange) {
  const Model model(SoftmaxConfig(), InitOptions{1});
  Gradients grads;
  for (int32_t bad : {3, -1, 1 << 30}) {
    Batch batch;
    batch.labels[4] = bad;
    const std::string got = "got " + std::to_string(bad);
    EXPECT_TRUE(ThrowsError(
        [&] {
          model.ComputeLoss(batch.input(), batch.labelled(), CrossEntropy());
        },
        {"target.labels[4]", "[0, 3)", "loss.ignore_index (-100)",
         got.c_str()}));
    EXPECT_TRUE(ThrowsError(
        [&] {
          model.ComputeGradients(batch.input(), batch.labelled(),
                                 CrossEntropy(), &grads);
        },
        {"target.labels[4]", "[0, 3)", got.c_str()}));
  }
  // With another ignore_index, -100 is an ordinary, out-of-range label.
  Batch batch;
  batch.labels[0] = -100;
  LossConfig loss = CrossEntropy();
  loss.ignore_index = -1;
  EXPECT_TRUE(ThrowsError(
      [&] { model.ComputeLoss(batch.input(), batch.labelled(), loss); },
      {"target.labels[0]", "loss.ignore_index (-1)", "got -100"}));
}

TEST(ModelLoss, RejectsALossThatDoesNotMatchTheHead) {
  const Model softmax(SoftmaxConfig(), InitOptions{1});
  const Model identity(SmallConfig(), InitOptions{1});
  const Batch batch;
  Gradients grads;
  EXPECT_TRUE(ThrowsError(
      [&] { softmax.ComputeLoss(batch.input(), batch.mse(), LossConfig{}); },
      {"kMeanSquaredError", "softmax head", "kCrossEntropy"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        softmax.ComputeGradients(batch.input(), batch.mse(), LossConfig{},
                                 &grads);
      },
      {"kMeanSquaredError", "softmax head"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        identity.ComputeLoss(batch.input(), batch.labelled(), CrossEntropy());
      },
      {"kCrossEntropy", "softmax head", "config.output_activation"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        identity.ComputeGradients(batch.input(), batch.labelled(),
                                  CrossEntropy(), &grads);
      },
      {"kCrossEntropy", "softmax head"}));
  LossConfig unknown;
  unknown.kind = static_cast<LossKind>(9);
  EXPECT_TRUE(ThrowsError(
      [&] { softmax.ComputeLoss(batch.input(), batch.labelled(), unknown); },
      {"loss.kind", "kMeanSquaredError or kCrossEntropy"}));
}

TEST(ModelLoss, RejectsNullGradients) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  EXPECT_TRUE(ThrowsError(
      [&] {
        model.ComputeGradients(batch.input(), batch.mse(), LossConfig{},
                               nullptr);
      },
      {"gradients", "null"}));
}

TEST(ModelLoss, ValidatesTheInputToo) {
  const Model model(SmallConfig(), InitOptions{1});
  Batch batch;
  batch.x.clear();
  Gradients grads;
  EXPECT_TRUE(ThrowsError(
      [&] { model.ComputeLoss(batch.input(), batch.mse(), LossConfig{}); },
      {"input.x", "must hold 30 values", "got 0"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        model.ComputeGradients(batch.input(), batch.mse(), LossConfig{},
                               &grads);
      },
      {"input.x", "must hold 30 values", "got 0"}));
}

// ---- Parameters by name ----------------------------------------------------

TEST(ModelParameters, RejectsUnknownNames) {
  Model model(SmallConfig(), InitOptions{1});
  ModelConfig headless = SmallConfig();
  headless.output_size = 0;
  const Model no_head(headless);
  const std::vector<float> values(8, 0.0f);
  for (const char* name : {"weight_ih_l2", "bias", "", "Weight_ih_l0"}) {
    SCOPED_TRACE(name);
    const std::string quoted = "'" + std::string(name) + "'";
    EXPECT_TRUE(ThrowsError(
        [&] { model.parameter(name); },
        {"no parameter named", quoted.c_str(), "weight_ih_l0", "head.bias"}));
    EXPECT_TRUE(ThrowsError([&] { model.parameter_shape(name); },
                            {"no parameter named", quoted.c_str()}));
    EXPECT_TRUE(ThrowsError([&] { model.set_parameter(name, values); },
                            {"no parameter named", quoted.c_str()}));
  }
  EXPECT_TRUE(
      ThrowsError([&] { no_head.parameter("head.weight"); },
                  {"no parameter named 'head.weight'", "weight_hh_l1"}));
}

TEST(ModelParameters, RejectsValuesOfTheWrongSize) {
  Model model(SmallConfig(), InitOptions{1});
  const std::vector<float> before = Parameters(model);
  const std::vector<float> short_values(63, 0.5f);
  EXPECT_TRUE(
      ThrowsError([&] { model.set_parameter("weight_hh_l1", short_values); },
                  {"weight_hh_l1", "must hold 64", "[16][4]", "got 63"}));
  const std::vector<float> long_values(9, 0.5f);
  EXPECT_TRUE(
      ThrowsError([&] { model.set_parameter("head.bias", long_values); },
                  {"head.bias", "must hold 2", "[2]", "got 9"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        model.set_parameter("bias_ih_l0", Span<const float>(nullptr, 16));
      },
      {"bias_ih_l0", "null"}));
  EXPECT_EQ(Parameters(model), before);
}

// ---- Gradients -------------------------------------------------------------

TEST(GradientsParameter, RejectsUseBeforeComputeGradients) {
  const Gradients grads;
  EXPECT_TRUE(ThrowsError([&] { grads.parameter("weight_ih_l0"); },
                          {"gradients are empty", "ComputeGradients"}));
}

TEST(GradientsParameter, RejectsUnknownNamesAfterUse) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  Gradients grads;
  model.ComputeGradients(batch.input(), batch.mse(), LossConfig{}, &grads);
  EXPECT_EQ(grads.parameter("weight_ih_l0").size(), 16u * 3u);
  EXPECT_TRUE(
      ThrowsError([&] { grads.parameter("weight_ih_l9"); },
                  {"no parameter named 'weight_ih_l9'", "head.weight"}));
}

TEST(ClipGradientNorm, RejectsNullGradients) {
  EXPECT_TRUE(ThrowsError([&] { ClipGradientNorm(nullptr, 1.0f); },
                          {"gradients", "null"}));
}

TEST(ClipGradientNorm, RejectsANonPositiveOrNaNMaxNorm) {
  const Model model(SmallConfig(), InitOptions{1});
  const Batch batch;
  Gradients grads;
  model.ComputeGradients(batch.input(), batch.mse(), LossConfig{}, &grads);
  const std::vector<float> before(grads.parameters().begin(),
                                  grads.parameters().end());
  for (float bad : {0.0f, -1.0f, -kInf, kNaN}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(ThrowsError([&] { ClipGradientNorm(&grads, bad); },
                            {"max_norm must be positive", "got"}));
    EXPECT_EQ(std::vector<float>(grads.parameters().begin(),
                                 grads.parameters().end()),
              before);
  }
}

// ---- Optimizer -------------------------------------------------------------

TEST(OptimizerConstructor, RejectsBadSettings) {
  struct BadSetting {
    float OptimizerConfig::*member;
    float value;
    const char* parts[2];
  };
  const BadSetting settings[] = {
      {&OptimizerConfig::learning_rate,
       0.0f,
       {"optimizer.learning_rate", "positive"}},
      {&OptimizerConfig::learning_rate,
       -1e-3f,
       {"optimizer.learning_rate", "positive"}},
      {&OptimizerConfig::learning_rate,
       kNaN,
       {"optimizer.learning_rate", "positive"}},
      {&OptimizerConfig::learning_rate,
       kInf,
       {"optimizer.learning_rate", "positive"}},
      {&OptimizerConfig::momentum, -0.1f, {"optimizer.momentum", "[0, 1)"}},
      {&OptimizerConfig::momentum, 1.0f, {"optimizer.momentum", "[0, 1)"}},
      {&OptimizerConfig::momentum, kNaN, {"optimizer.momentum", "[0, 1)"}},
      {&OptimizerConfig::beta1, 1.0f, {"optimizer.beta1", "[0, 1)"}},
      {&OptimizerConfig::beta1, -0.5f, {"optimizer.beta1", "[0, 1)"}},
      {&OptimizerConfig::beta1, kNaN, {"optimizer.beta1", "[0, 1)"}},
      {&OptimizerConfig::beta2, 1.0f, {"optimizer.beta2", "[0, 1)"}},
      {&OptimizerConfig::beta2, -1e-6f, {"optimizer.beta2", "[0, 1)"}},
      {&OptimizerConfig::beta2, kNaN, {"optimizer.beta2", "[0, 1)"}},
      {&OptimizerConfig::epsilon, 0.0f, {"optimizer.epsilon", "positive"}},
      {&OptimizerConfig::epsilon, -1e-8f, {"optimizer.epsilon", "positive"}},
      {&OptimizerConfig::epsilon, kNaN, {"optimizer.epsilon", "positive"}},
      {&OptimizerConfig::epsilon, kInf, {"optimizer.epsilon", "positive"}},
      {&OptimizerConfig::weight_decay,
       -1e-4f,
       {"optimizer.weight_decay", ">= 0"}},
      {&OptimizerConfig::weight_decay,
       kNaN,
       {"optimizer.weight_decay", ">= 0"}},
  };
  for (const OptimizerConfig::Kind kind :
       {OptimizerConfig::Kind::kSgd, OptimizerConfig::Kind::kAdam}) {
    for (const BadSetting& s : settings) {
      OptimizerConfig config;
      config.kind = kind;
      config.*s.member = s.value;
      SCOPED_TRACE(std::string(s.parts[0]) + " = " + std::to_string(s.value));
      EXPECT_TRUE(ThrowsError([&] { Optimizer optimizer(config); },
                              {s.parts[0], s.parts[1], "got"}));
    }
  }
  OptimizerConfig config;
  config.kind = static_cast<OptimizerConfig::Kind>(5);
  EXPECT_TRUE(ThrowsError([&] { Optimizer optimizer(config); },
                          {"optimizer.kind", "kSgd or kAdam"}));
}

class OptimizerStep : public ::testing::Test {
 protected:
  OptimizerStep() : model_(SmallConfig(), InitOptions{1}) {
    model_.ComputeGradients(batch_.input(), batch_.mse(), LossConfig{},
                            &grads_);
  }
  Batch batch_;
  Model model_;
  Gradients grads_;
  Optimizer optimizer_{OptimizerConfig{}};
};

TEST_F(OptimizerStep, RejectsANullModel) {
  EXPECT_TRUE(ThrowsError([&] { optimizer_.Step(nullptr, grads_); },
                          {"model", "null"}));
  EXPECT_EQ(optimizer_.steps(), 0);
}

TEST_F(OptimizerStep, RejectsGradientsOfAModelWithAnotherSize) {
  ModelConfig other = SmallConfig();
  other.hidden_size = 3;
  Model other_model(other, InitOptions{1});
  const std::vector<float> before = Parameters(other_model);
  EXPECT_TRUE(ThrowsError([&] { optimizer_.Step(&other_model, grads_); },
                          {"gradients do not come from this model",
                           "weight_ih_l0 has 36 values", "its gradient 48"}));
  EXPECT_EQ(Parameters(other_model), before);
  EXPECT_EQ(optimizer_.steps(), 0);
}

// Same parameter count (64), different tensors: I = 4, H = 2 without a head
// against I = 1, H = 2 with an 8-wide head. The count alone cannot tell them
// apart; the gradients' tensor names and shapes can.
TEST_F(OptimizerStep, RejectsGradientsOfAModelWithTheSameCountButOtherTensors) {
  ModelConfig a;
  a.input_size = 4;
  a.hidden_size = 2;
  ModelConfig b;
  b.input_size = 1;
  b.hidden_size = 2;
  b.output_size = 8;
  Model model_a(a, InitOptions{1});
  const Model model_b(b, InitOptions{2});
  ASSERT_EQ(model_a.parameters().size(), model_b.parameters().size());
  const std::vector<float> x(3, 0.5f), y(3 * 8, 0.25f);
  Gradients grads_b;
  model_b.ComputeGradients(Input{3, 1, x, {}, {}, {}}, Target{y, {}},
                           LossConfig{}, &grads_b);
  const std::vector<float> before = Parameters(model_a);
  EXPECT_TRUE(ThrowsError([&] { optimizer_.Step(&model_a, grads_b); },
                          {"gradients", "this model"}));
  EXPECT_EQ(Parameters(model_a), before);
}

// Empty gradients are a missing ComputeGradients call, not gradients "from
// another model"; the message should say so, as Gradients::parameter does.
TEST_F(OptimizerStep, RejectsEmptyGradientsNamingComputeGradients) {
  const Gradients empty;
  const std::vector<float> before = Parameters(model_);
  EXPECT_TRUE(ThrowsError([&] { optimizer_.Step(&model_, empty); },
                          {"gradients", "ComputeGradients"}));
  EXPECT_EQ(Parameters(model_), before);
}

// ---- Trainer ---------------------------------------------------------------

TEST(TrainerConstructor, RejectsBadArguments) {
  Model model(SmallConfig(), InitOptions{1});
  const TrainerConfig good;
  EXPECT_TRUE(
      ThrowsError([&] { Trainer trainer(nullptr, good); }, {"model", "null"}));
  for (int bad : {0, -3}) {
    const std::string got = "got " + std::to_string(bad);
    TrainerConfig config;
    config.epochs = bad;
    EXPECT_TRUE(ThrowsError([&] { Trainer trainer(&model, config); },
                            {"config.epochs", "positive", got.c_str()}));
    config = TrainerConfig();
    config.batch_size = bad;
    EXPECT_TRUE(ThrowsError([&] { Trainer trainer(&model, config); },
                            {"config.batch_size", "positive", got.c_str()}));
  }
  for (float bad : {-1.0f, kNaN, kInf}) {
    SCOPED_TRACE(bad);
    TrainerConfig config;
    config.clip_norm = bad;
    EXPECT_TRUE(ThrowsError([&] { Trainer trainer(&model, config); },
                            {"config.clip_norm", ">= 0", "got"}));
  }
  TrainerConfig config;
  config.optimizer.learning_rate = -1.0f;
  EXPECT_TRUE(ThrowsError([&] { Trainer trainer(&model, config); },
                          {"learning_rate", "positive", "got -1"}));
}

// N = 4 sequences of T = 3 steps for SmallConfig (I = 3, O = 2, every step).
Dataset MseDataset(int n = 4) {
  Dataset data;
  data.num_samples = n;
  data.seq_len = 3;
  data.inputs = RandomVector(static_cast<size_t>(n) * 3 * 3, 11);
  data.targets = RandomVector(static_cast<size_t>(n) * 3 * 2, 12);
  return data;
}

// The same for SoftmaxConfig (O = 3), labels [N][T].
Dataset LabelledDataset() {
  Dataset data;
  data.num_samples = 4;
  data.seq_len = 3;
  data.inputs = RandomVector(4 * 3 * 3, 13);
  for (int i = 0; i < 12; ++i) data.labels.push_back(i % 3);
  return data;
}

TrainerConfig SmallTraining() {
  TrainerConfig config;
  config.epochs = 2;
  config.batch_size = 2;
  config.shuffle = false;
  return config;
}

TEST(TrainerFitAndEvaluate, RejectEmptyDatasets) {
  Model model(SmallConfig(), InitOptions{1});
  const std::vector<float> before = Parameters(model);
  Trainer trainer(&model, SmallTraining());
  const Dataset empty;
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(empty); },
                          {"train.num_samples", "positive", "got 0"}));
  EXPECT_TRUE(ThrowsError([&] { trainer.Evaluate(empty); },
                          {"data.num_samples", "positive", "got 0"}));
  Dataset no_steps = MseDataset();
  no_steps.seq_len = 0;
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(no_steps); },
                          {"train.seq_len", "positive", "got 0"}));
  const Dataset train = MseDataset();
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(train, &empty); },
                          {"validation.num_samples", "positive", "got 0"}));
  EXPECT_EQ(Parameters(model), before);
}

TEST(TrainerFitAndEvaluate, RejectInputsThatDoNotMatchNumSamples) {
  Model model(SmallConfig(), InitOptions{1});
  const std::vector<float> before = Parameters(model);
  Trainer trainer(&model, SmallTraining());
  Dataset data = MseDataset();
  data.num_samples = 5;
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(data); },
                          {"train.inputs", "must hold 45 values",
                           "[N][T][I] = [5][3][3]", "got 36"}));
  EXPECT_TRUE(ThrowsError([&] { trainer.Evaluate(data); },
                          {"data.inputs", "must hold 45 values", "got 36"}));
  data = MseDataset();
  data.inputs.pop_back();
  const Dataset train = MseDataset();
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(train, &data); },
                          {"validation.inputs", "must hold 36", "got 35"}));
  EXPECT_EQ(Parameters(model), before);
}

TEST(TrainerFitAndEvaluate, RejectMissingTargets) {
  Model model(SmallConfig(), InitOptions{1});
  const std::vector<float> before = Parameters(model);
  Trainer trainer(&model, SmallTraining());
  Dataset data = MseDataset();
  data.targets.clear();
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(data); },
                          {"train.targets", "must hold 24 values", "got 0"}));
  EXPECT_TRUE(ThrowsError([&] { trainer.Evaluate(data); },
                          {"data.targets", "must hold 24 values", "got 0"}));
  data = MseDataset();
  data.targets.resize(23);
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(data); },
                          {"train.targets", "must hold 24 values", "got 23"}));
  EXPECT_EQ(Parameters(model), before);
}

TEST(TrainerFitAndEvaluate, RejectMissingLabels) {
  Model model(SoftmaxConfig(), InitOptions{1});
  const std::vector<float> before = Parameters(model);
  TrainerConfig config = SmallTraining();
  config.loss = CrossEntropy();
  Trainer trainer(&model, config);
  Dataset data = LabelledDataset();
  data.labels.clear();
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(data); },
                          {"train.labels", "must hold 12 values", "got 0"}));
  EXPECT_TRUE(ThrowsError([&] { trainer.Evaluate(data); },
                          {"data.labels", "must hold 12 values", "got 0"}));
  EXPECT_EQ(Parameters(model), before);
}

// A label out of range in the last sample: the message should point into the
// dataset (train.labels[11], the sample's own row), not into an internal
// mini-batch, and the whole dataset should be checked before the first step
// so that a bad argument never leaves the model half-trained.
TEST(TrainerFitAndEvaluate, RejectLabelsOutOfRangeBeforeTraining) {
  Model model(SoftmaxConfig(), InitOptions{1});
  const std::vector<float> before = Parameters(model);
  TrainerConfig config = SmallTraining();
  config.loss = CrossEntropy();
  Trainer trainer(&model, config);
  Dataset data = LabelledDataset();
  data.labels[11] = 3;
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(data); },
                          {"train.labels[11]", "[0, 3)", "got 3"}));
  EXPECT_EQ(Parameters(model), before);
  EXPECT_TRUE(ThrowsError([&] { trainer.Evaluate(data); },
                          {"data.labels[11]", "[0, 3)", "got 3"}));
}

// ---- Training that diverges ------------------------------------------------

// A NaN in the last sample's inputs: with batches of 2 and no shuffling, the
// first step (samples 0 and 1) succeeds and the second fails. The model must
// hold exactly what one step on samples 0 and 1 gives.
TEST(TrainerDivergence, NaNInTheInputsKeepsTheParametersOfTheLastGoodStep) {
  const Model initial(SmallConfig(), InitOptions{3});
  TrainerConfig config = SmallTraining();
  config.epochs = 1;

  Model expected = initial;
  Dataset first_two = MseDataset(2);
  Trainer(&expected, config).Fit(first_two);
  ASSERT_NE(Parameters(expected), Parameters(initial));

  // Random vectors from one seed share their prefix, so samples 0 and 1 are
  // the same in both datasets.
  Dataset poisoned = MseDataset(4);
  ASSERT_EQ(
      std::vector<float>(poisoned.inputs.begin(), poisoned.inputs.begin() + 18),
      first_two.inputs);
  ASSERT_EQ(std::vector<float>(poisoned.targets.begin(),
                               poisoned.targets.begin() + 12),
            first_two.targets);
  poisoned.inputs[3 * 3 * 3 + 4] = kNaN;
  Model model = initial;
  Trainer trainer(&model, config);
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(poisoned); },
                          {"diverged", "epoch 1", "not finite"}));
  EXPECT_EQ(Parameters(model), Parameters(expected));
}

TEST(TrainerDivergence, NaNInTheTargetsOfTheFirstBatchKeepsTheInitialModel) {
  Model model(SmallConfig(), InitOptions{3});
  const std::vector<float> before = Parameters(model);
  Trainer trainer(&model, SmallTraining());
  Dataset data = MseDataset();
  data.targets[1] = kNaN;
  EXPECT_TRUE(
      ThrowsError([&] { trainer.Fit(data); }, {"diverged", "not finite"}));
  EXPECT_EQ(Parameters(model), before);
}

// SGD with a learning rate of 1e30 takes one finite but enormous step; the
// next forward pass overflows. The error comes on the second step (epoch 2,
// one batch per epoch), and the model keeps what the first step gave.
TEST(TrainerDivergence, HugeLearningRateStopsAtTheStepThatOverflows) {
  Model model(SmallConfig(), InitOptions{3});
  TrainerConfig config = SmallTraining();
  config.epochs = 5;
  config.batch_size = 4;
  config.optimizer.kind = OptimizerConfig::Kind::kSgd;
  config.optimizer.learning_rate = 1e30f;
  std::vector<std::vector<float>> after_epoch;
  config.on_epoch = [&](const EpochReport&) {
    after_epoch.push_back(Parameters(model));
  };
  Trainer trainer(&model, config);
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(MseDataset()); },
                          {"diverged", "not finite"}));
  ASSERT_FALSE(after_epoch.empty());
  EXPECT_EQ(Parameters(model), after_epoch.back());
  EXPECT_TRUE(AllFinite(Parameters(model)));
}

// Adam with a learning rate of 1e38: lr / (1 - beta1) overflows float, so the
// very first update writes infinities and NaNs into the parameters even
// though the loss and the gradients were finite. Training must stop there
// with lstmkit::Error and keep the parameters from before that step, here the
// initial ones, instead of returning normally with a broken model.
TEST(TrainerDivergence, HugeLearningRateThatOverflowsTheUpdateKeepsTheModel) {
  Model model(SmallConfig(), InitOptions{3});
  const std::vector<float> before = Parameters(model);
  TrainerConfig config = SmallTraining();
  config.epochs = 1;
  config.batch_size = 4;
  config.optimizer.learning_rate = 1e38f;
  Trainer trainer(&model, config);
  EXPECT_TRUE(ThrowsError([&] { trainer.Fit(MseDataset()); },
                          {"non-finite", "model and optimizer are unchanged"}));
  EXPECT_EQ(Parameters(model), before);
  EXPECT_TRUE(AllFinite(Parameters(model)));
}

}  // namespace
}  // namespace lstmkit
