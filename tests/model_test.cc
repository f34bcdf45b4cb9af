// The production path against the double reference, on assorted shapes.
#include <gtest/gtest.h>

#include "lstmkit/lstmkit.hpp"
#include "reference.h"
#include "test_util.h"

namespace lstmkit {
namespace {

using testing::MaxAbsDiff;
using testing::RandomVector;
using testing::RelativeError;

struct Shape {
  int input, hidden, layers, output, seq_len, batch;
  OutputSteps steps;
  OutputActivation activation;
};

class ModelVsReference : public ::testing::TestWithParam<Shape> {};

TEST_P(ModelVsReference, ForwardAndGradientsMatch) {
  const Shape s = GetParam();
  ModelConfig config;
  config.input_size = s.input;
  config.hidden_size = s.hidden;
  config.num_layers = s.layers;
  config.output_size = s.output;
  config.output_steps = s.steps;
  config.output_activation = s.activation;
  Model model(config, InitOptions{7});
  const size_t states = static_cast<size_t>(s.layers) * s.batch * s.hidden;
  const std::vector<float> x =
      RandomVector(static_cast<size_t>(s.seq_len) * s.batch * s.input, 1);
  const std::vector<float> h0 = RandomVector(states, 2, -0.5f, 0.5f);
  const std::vector<float> c0 = RandomVector(states, 3, -0.5f, 0.5f);
  Input input{s.seq_len, s.batch, x, h0, c0, {}};

  const Output out = model.Forward(input);
  const reference::Problem problem = reference::MakeProblem(model, input);
  const reference::ForwardResult ref = reference::Forward(problem);
  EXPECT_LT(MaxAbsDiff(out.y, ref.y), 2e-6);
  EXPECT_LT(MaxAbsDiff(out.h_n, ref.h_n), 2e-6);
  EXPECT_LT(MaxAbsDiff(out.c_n, ref.c_n), 2e-6);

  reference::Objective objective;
  const int rows =
      s.steps == OutputSteps::kLastStep ? s.batch : s.seq_len * s.batch;
  Target target;
  std::vector<float> values;
  std::vector<int32_t> labels;
  if (s.activation == OutputActivation::kSoftmax) {
    objective.loss.kind = LossKind::kCrossEntropy;
    for (int r = 0; r < rows; ++r)
      labels.push_back(r % 3 == 2 ? -100 : r % s.output);
    objective.labels = labels;
    target.labels = labels;
  } else {
    values = RandomVector(static_cast<size_t>(rows) * model.output_width(), 4);
    objective.targets.assign(values.begin(), values.end());
    target.values = values;
  }
  Gradients grads;
  const float loss =
      model.ComputeGradients(input, target, objective.loss, &grads);
  const reference::BackwardResult ref_grads =
      reference::Backward(problem, objective);
  EXPECT_NEAR(loss, ref_grads.loss, 1e-5 * std::max(1.0, ref_grads.loss));
  EXPECT_LT(RelativeError(grads.parameters(), ref_grads.d_params), 1e-5);
  EXPECT_LT(RelativeError(grads.x, ref_grads.dx), 1e-5);
  EXPECT_LT(RelativeError(grads.h0, ref_grads.dh0), 1e-5);
  EXPECT_LT(RelativeError(grads.c0, ref_grads.dc0), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ModelVsReference,
    ::testing::Values(Shape{3, 5, 1, 0, 4, 2, OutputSteps::kEveryStep,
                            OutputActivation::kIdentity},
                      Shape{4, 3, 2, 2, 6, 3, OutputSteps::kEveryStep,
                            OutputActivation::kIdentity},
                      Shape{5, 4, 3, 6, 5, 2, OutputSteps::kEveryStep,
                            OutputActivation::kSoftmax},
                      Shape{2, 6, 3, 1, 3, 4, OutputSteps::kLastStep,
                            OutputActivation::kIdentity},
                      Shape{7, 9, 2, 5, 7, 5, OutputSteps::kLastStep,
                            OutputActivation::kSoftmax}));

}  // namespace
}  // namespace lstmkit
