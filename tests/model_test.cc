// The whole model, on every compiled target, against the double reference.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "denormals.h"
#include "kernels.h"
#include "lstmkit/lstmkit.hpp"
#include "packed_weights.h"
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
  bool bidirectional = false;
  int proj_size = 0;
};

// Restores the process-wide target after each test.
class OnTarget {
 public:
  explicit OnTarget(const std::string& name) : saved_(ActiveTarget()) {
    SetTarget(name);
  }
  ~OnTarget() { SetTarget(saved_); }

 private:
  std::string saved_;
};

ModelConfig ConfigFor(const Shape& s) {
  ModelConfig config;
  config.input_size = s.input;
  config.hidden_size = s.hidden;
  config.num_layers = s.layers;
  config.output_size = s.output;
  config.output_steps = s.steps;
  config.output_activation = s.activation;
  config.bidirectional = s.bidirectional;
  config.proj_size = s.proj_size;
  return config;
}

class ModelVsReference
    : public ::testing::TestWithParam<std::tuple<std::string, Shape>> {};

// Bounds: forward outputs and states within 2e-6 absolute of the double
// reference (every value is O(1)); gradients within 1e-5 of the tensor's
// largest entry (RelativeError), as float32 sums over T * B terms allow.
TEST_P(ModelVsReference, ForwardAndGradientsMatch) {
  const OnTarget target(std::get<0>(GetParam()));
  const Shape s = std::get<1>(GetParam());
  Model model(ConfigFor(s), InitOptions{7});
  const size_t states =
      static_cast<size_t>(s.layers) * (s.bidirectional ? 2 : 1) * s.batch;
  const int state_width = s.proj_size > 0 ? s.proj_size : s.hidden;
  const std::vector<float> x =
      RandomVector(static_cast<size_t>(s.seq_len) * s.batch * s.input, 1);
  const std::vector<float> h0 =
      RandomVector(states * state_width, 2, -0.5f, 0.5f);
  const std::vector<float> c0 = RandomVector(states * s.hidden, 3, -0.5f, 0.5f);
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
  Target target_values;
  std::vector<float> values;
  std::vector<int32_t> labels;
  if (s.activation == OutputActivation::kSoftmax) {
    objective.loss.kind = LossKind::kCrossEntropy;
    for (int r = 0; r < rows; ++r) {
      labels.push_back(r % 3 == 2 ? -100 : r % s.output);
    }
    objective.labels = labels;
    target_values.labels = labels;
  } else {
    values = RandomVector(static_cast<size_t>(rows) * model.output_width(), 4);
    objective.targets.assign(values.begin(), values.end());
    target_values.values = values;
  }
  Gradients grads;
  const float loss =
      model.ComputeGradients(input, target_values, objective.loss, &grads);
  const reference::BackwardResult ref_grads =
      reference::Backward(problem, objective);
  EXPECT_NEAR(loss, ref_grads.loss, 1e-5 * std::max(1.0, ref_grads.loss));
  EXPECT_LT(RelativeError(grads.parameters(), ref_grads.d_params), 1e-5);
  EXPECT_LT(RelativeError(grads.x, ref_grads.dx), 1e-5);
  EXPECT_LT(RelativeError(grads.h0, ref_grads.dh0), 1e-5);
  EXPECT_LT(RelativeError(grads.c0, ref_grads.dc0), 1e-5);
}

std::string ShapeName(
    const ::testing::TestParamInfo<ModelVsReference::ParamType>& info) {
  const Shape& s = std::get<1>(info.param);
  return std::get<0>(info.param) + "_I" + std::to_string(s.input) + "_H" +
         std::to_string(s.hidden) + "_L" + std::to_string(s.layers) + "_O" +
         std::to_string(s.output) + "_T" + std::to_string(s.seq_len) + "_B" +
         std::to_string(s.batch) + (s.bidirectional ? "_bidir" : "") +
         (s.proj_size > 0 ? "_P" + std::to_string(s.proj_size) : "");
}

// Hidden sizes that fill no vector exactly (1, 3, 17, 33) and some that do.
INSTANTIATE_TEST_SUITE_P(
    Shapes, ModelVsReference,
    ::testing::Combine(
        ::testing::ValuesIn(AvailableTargets()),
        ::testing::Values(Shape{3, 5, 1, 0, 4, 2, OutputSteps::kEveryStep,
                                OutputActivation::kIdentity},
                          Shape{4, 3, 2, 2, 6, 3, OutputSteps::kEveryStep,
                                OutputActivation::kIdentity},
                          Shape{5, 4, 3, 6, 5, 2, OutputSteps::kEveryStep,
                                OutputActivation::kSoftmax},
                          Shape{2, 1, 3, 1, 3, 4, OutputSteps::kLastStep,
                                OutputActivation::kIdentity},
                          Shape{7, 17, 2, 5, 7, 5, OutputSteps::kLastStep,
                                OutputActivation::kSoftmax},
                          Shape{16, 33, 2, 0, 5, 9, OutputSteps::kEveryStep,
                                OutputActivation::kIdentity},
                          Shape{32, 16, 1, 3, 4, 1, OutputSteps::kEveryStep,
                                OutputActivation::kIdentity},
                          // Batch 1 over several panel pairs, which odd
                          // steps walk in reverse.
                          Shape{6, 70, 2, 0, 5, 1, OutputSteps::kEveryStep,
                                OutputActivation::kIdentity},
                          Shape{5, 17, 2, 3, 5, 4, OutputSteps::kEveryStep,
                                OutputActivation::kIdentity, true},
                          Shape{4, 19, 2, 4, 6, 3, OutputSteps::kLastStep,
                                OutputActivation::kSoftmax, true, 9},
                          // No head: the top layer writes the caller's y.
                          Shape{5, 11, 2, 0, 4, 3, OutputSteps::kEveryStep,
                                OutputActivation::kIdentity, true, 6})),
    ShapeName);

// A batch of sequences of different lengths gives, for each sequence, bitwise
// what that sequence gives alone: rows never mix, and padding is skipped.
// A batch of 37 on one thread takes the input projection inside its steps
// where the fused tiles run (AVX-512), the single sequences before them.
TEST(VariableLengths, EachSequenceMatchesItsOwnRunBitwise) {
  for (const std::string& name : AvailableTargets()) {
    const OnTarget target(name);
    for (const auto& [steps, batch] :
         {std::pair{OutputSteps::kEveryStep, 5},
          std::pair{OutputSteps::kLastStep, 5},
          std::pair{OutputSteps::kEveryStep, 37}}) {
      ModelConfig config;
      config.input_size = 3;
      config.hidden_size = 21;
      config.num_layers = 2;
      config.output_size = 4;
      config.output_steps = steps;
      Model model(config, InitOptions{8});
      model.set_threads(1);
      const int seq_len = 6, in = 3, out = 4, hidden = 21;
      std::vector<int32_t> lengths = {2, 6, 1, 6, 4};
      for (int b = 5; b < batch; ++b) lengths.push_back(1 + b * 7 % seq_len);
      const std::vector<float> x = RandomVector(seq_len * batch * in, 9);
      const std::vector<float> h0 = RandomVector(2 * batch * hidden, 10);
      const std::vector<float> c0 = RandomVector(2 * batch * hidden, 11);
      const Output all = model.Forward({seq_len, batch, x, h0, c0, lengths});
      const bool every = steps == OutputSteps::kEveryStep;
      for (int b = 0; b < batch; ++b) {
        const int len = lengths[b];
        std::vector<float> xb, h0b, c0b;
        for (int t = 0; t < len; ++t) {
          xb.insert(xb.end(), &x[(t * batch + b) * in],
                    &x[(t * batch + b) * in] + in);
        }
        for (int l = 0; l < 2; ++l) {
          const size_t at = (l * batch + b) * hidden;
          h0b.insert(h0b.end(), &h0[at], &h0[at] + hidden);
          c0b.insert(c0b.end(), &c0[at], &c0[at] + hidden);
        }
        const Output one = model.Forward({len, 1, xb, h0b, c0b, {}});
        for (int t = 0; t < (every ? seq_len : 1); ++t) {
          for (int j = 0; j < out; ++j) {
            const float got = all.y[(t * batch + b) * out + j];
            const float want = t < len || !every ? one.y[t * out + j] : 0.0f;
            ASSERT_EQ(got, want) << name << " sequence " << b << " step " << t;
          }
        }
        for (int l = 0; l < 2; ++l) {
          for (int j = 0; j < hidden; ++j) {
            ASSERT_EQ(all.h_n[(l * batch + b) * hidden + j],
                      one.h_n[l * hidden + j]);
            ASSERT_EQ(all.c_n[(l * batch + b) * hidden + j],
                      one.c_n[l * hidden + j]);
          }
        }
      }
    }
  }
}

// Without the input's gradient, every other gradient is bitwise what a
// full call gives, and Gradients::x is empty: plain, and with two
// bidirectional layers, lengths, batch-first input and dropout (the paths
// that scatter, transpose and mask dL/dx).
TEST(GradientOptions, WithoutTheInputGradientTheRestIsBitwiseTheSame) {
  for (const bool options_on : {false, true}) {
    ModelConfig config;
    config.input_size = 5;
    config.hidden_size = 19;
    config.output_size = 3;
    if (options_on) {
      config.num_layers = 2;
      config.bidirectional = true;
      config.batch_first = true;
      config.dropout = 0.25f;
    }
    const Model model(config, InitOptions{4});
    const int seq_len = 7, batch = 4;
    const std::vector<float> x = RandomVector(seq_len * batch * 5, 5);
    const std::vector<float> y = RandomVector(seq_len * batch * 3, 6);
    const std::vector<int32_t> lengths = {7, 3, 5, 1};
    Input input{seq_len, batch, x, {}, {}, {}};
    if (options_on) input.seq_lens = lengths;
    input.dropout_seed = 12;
    Gradients full, without;
    const float loss_full =
        model.ComputeGradients(input, Target{y, {}}, LossConfig{}, &full);
    const float loss_without = model.ComputeGradients(
        input, Target{y, {}}, LossConfig{}, &without, GradientOptions{false});
    EXPECT_EQ(loss_full, loss_without);
    EXPECT_EQ(full.x.size(), x.size());
    EXPECT_TRUE(without.x.empty());
    const Span<const float> a = full.parameters(), b = without.parameters();
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
        << "options " << options_on;
    EXPECT_EQ(full.h0, without.h0);
    EXPECT_EQ(full.c0, without.c0);
    // Asking again fills x in the same Gradients.
    model.ComputeGradients(input, Target{y, {}}, LossConfig{}, &without);
    EXPECT_EQ(without.x, full.x);
  }
}

// Layer 0's input rows are packed when input gradients are first asked
// for after the weights change: dL/dx follows every change (set_parameter,
// the precision, an optimizer step), in the model and in its copies, and
// equals a new model's with the same weights.
TEST(GradientOptions, InputGradientFollowsEveryChangeOfTheWeights) {
  ModelConfig config;
  config.input_size = 5;
  config.hidden_size = 19;
  config.output_size = 3;
  config.num_layers = 2;
  config.bidirectional = true;
  const int seq_len = 7, batch = 4;
  const std::vector<float> x = RandomVector(seq_len * batch * 5, 5);
  const std::vector<float> y = RandomVector(seq_len * batch * 3, 6);
  const Input input{seq_len, batch, x, {}, {}, {}};
  auto input_gradient = [&](const Model& m) {
    Gradients g;
    m.ComputeGradients(input, Target{y, {}}, LossConfig{}, &g);
    return g.x;
  };
  // What a model built with m's weights and precision gives.
  auto fresh_input_gradient = [&](const Model& m) {
    Model fresh(config, InitOptions{99});
    const Span<const float> from = m.parameters();
    std::copy(from.begin(), from.end(), fresh.parameters().begin());
    fresh.parameters_changed();
    fresh.set_weight_precision(m.weight_precision());
    return input_gradient(fresh);
  };
  Model model(config, InitOptions{4});
  const std::vector<float> first = input_gradient(model);
  EXPECT_EQ(first, fresh_input_gradient(model));
  const Model copy_before = model;

  for (const char* name : {"weight_ih_l0", "weight_ih_l0_reverse"}) {
    const Span<const float> old = model.parameter(name);
    std::vector<float> w(old.begin(), old.end());
    for (float& v : w) v *= 1.5f;
    model.set_parameter(name, w);
  }
  const std::vector<float> changed = input_gradient(model);
  EXPECT_NE(changed, first);
  EXPECT_EQ(changed, fresh_input_gradient(model));
  EXPECT_EQ(input_gradient(copy_before), first);

  Model copy_after = model;
  EXPECT_EQ(input_gradient(copy_after), changed);
  model.set_weight_precision(WeightPrecision::kBF16);
  const std::vector<float> rounded = input_gradient(model);
  EXPECT_NE(rounded, changed);
  EXPECT_EQ(rounded, fresh_input_gradient(model));
  EXPECT_EQ(input_gradient(copy_after), changed);

  Gradients step;
  copy_after.ComputeGradients(input, Target{y, {}}, LossConfig{}, &step,
                              GradientOptions{false});
  Optimizer adam(OptimizerConfig{});
  adam.Step(&copy_after, step);
  const std::vector<float> stepped = input_gradient(copy_after);
  EXPECT_NE(stepped, changed);
  EXPECT_EQ(stepped, fresh_input_gradient(copy_after));
}

// The weight gradients read dA through ColumnOfRow: it must be the inverse
// of SourceRow over every real row, for every vector width, ragged H
// included.
TEST(GateLayout, ColumnOfRowInvertsSourceRow) {
  for (int lanes : {1, 4, 8, 16}) {
    for (int hidden : {1, 3, 17, 64, 129}) {
      const internal::GateLayout gl(hidden, lanes);
      std::vector<int> seen(4 * hidden, 0);
      for (int column = 0; column < gl.width(); ++column) {
        const int row = gl.SourceRow(column);
        if (row < 0) continue;
        ASSERT_LT(row, 4 * hidden);
        ++seen[row];
        EXPECT_EQ(gl.ColumnOfRow(row), column)
            << "lanes " << lanes << " H " << hidden << " row " << row;
      }
      EXPECT_EQ(seen, std::vector<int>(4 * hidden, 1));
    }
  }
}

TEST(Targets, SetTargetRejectsUnknownNames) {
  EXPECT_THROW(SetTarget("NOT_A_TARGET"), Error);
  EXPECT_FALSE(AvailableTargets().empty());
  EXPECT_EQ(AvailableTargets().front(),
            kernels::AvailableKernels().front()->name);
}

TEST(Targets, EnvironmentSettingPicksTheNamedTargetOrTheBest) {
  const auto& best = *kernels::AvailableKernels().front();
  EXPECT_EQ(kernels::KernelsForSetting(nullptr), &best);
  EXPECT_EQ(kernels::KernelsForSetting(""), &best);
  EXPECT_EQ(kernels::KernelsForSetting("no-such-target"), &best);
  for (const kernels::KernelTable* t : kernels::AvailableKernels()) {
    std::string lower = t->name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
    EXPECT_EQ(kernels::KernelsForSetting(lower.c_str()), t);
  }
}

TEST(Targets, AModelKeepsTheTargetItWasPackedFor) {
  ModelConfig config;
  config.input_size = 3;
  config.hidden_size = 5;
  const std::vector<float> x = RandomVector(3 * 2 * 3, 9);
  const Input input{3, 2, x, {}, {}, {}};
  for (const std::string& name : AvailableTargets()) {
    const OnTarget target(name);
    const Model model(config, InitOptions{1});
    const Output before = model.Forward(input);
    // Switching afterwards must not break the packed weights' layout.
    for (const std::string& other : AvailableTargets()) {
      const OnTarget switched(other);
      EXPECT_EQ(model.Forward(input).y, before.y) << name << " then " << other;
    }
  }
}

// With zero weights every gate is 0.5 and the candidate 0, so c_n = c0 / 2:
// a denormal c0 gives a denormal c_n unless denormals are flushed inside
// the library. The caller's floating-point mode must be restored.
TEST(Denormals, FlushedInsideAndRestoredAfter) {
  ModelConfig config;
  config.input_size = 2;
  config.hidden_size = 3;
  Model model(config, InitOptions{2});
  for (float& p : model.parameters()) p = 0.0f;
  model.parameters_changed();
  const std::vector<float> x(2 * 1 * 2, 0.0f);
  const std::vector<float> tiny(3,
                                std::numeric_limits<float>::denorm_min() * 8);
  ASSERT_NE(tiny[0] * 0.5f, 0.0f) << "this test needs denormals outside";
#ifdef LSTMKIT_HAVE_MXCSR
  const unsigned before = _mm_getcsr();
#endif
  const Output out = model.Forward({2, 1, x, tiny, tiny, {}});
  for (float c : out.c_n) EXPECT_EQ(c, 0.0f);
#ifdef LSTMKIT_HAVE_MXCSR
  EXPECT_EQ(_mm_getcsr(), before);
#endif
  Gradients grads;
  const std::vector<float> y(2 * 1 * 3, 0.0f);
  model.ComputeGradients({2, 1, x, tiny, tiny, {}}, {y, {}}, {}, &grads);
#ifdef LSTMKIT_HAVE_MXCSR
  EXPECT_EQ(_mm_getcsr(), before);
#endif
}

// ---- Buffers kept from call to call
// ------------------------------------------

struct CallResults {
  std::vector<float> y, h_n, params, x_grad;
  float loss = 0;
  bool operator==(const CallResults& o) const {
    return y == o.y && h_n == o.h_n && params == o.params &&
           x_grad == o.x_grad && loss == o.loss;
  }
};

// One forward and one training call at a shape, with varying lengths.
CallResults CallsAt(const Model& model, int seq_len, int batch, int seed) {
  const int in = model.config().input_size;
  const std::vector<float> x = RandomVector(seq_len * batch * in, seed);
  std::vector<int32_t> lengths(batch);
  for (int b = 0; b < batch; ++b) lengths[b] = 1 + (b * 5 + seed) % seq_len;
  Input input{seq_len, batch, x, {}, {}, lengths};
  CallResults r;
  const Output out = model.Forward(input);
  r.y = out.y;
  r.h_n = out.h_n;
  const std::vector<float> target =
      RandomVector(out.y.size(), seed + 1, -0.5f, 0.5f);
  Gradients grads;
  r.loss = model.ComputeGradients(input, Target{target, {}}, {}, &grads);
  r.params.assign(grads.parameters().begin(), grads.parameters().end());
  r.x_grad = grads.x;
  return r;
}

// A thread keeps the buffers of its last call for the next one. Whatever
// an earlier call of another shape left in them must not show: a thread
// that made bigger and smaller calls first gets the same bits as a new
// thread, whose buffers are empty.
TEST(CallBuffers, EarlierCallsOnAThreadDoNotChangeItsResults) {
  ModelConfig config;
  config.input_size = 5;
  config.hidden_size = 9;
  config.num_layers = 2;
  config.bidirectional = true;
  config.output_size = 3;
  const Model model(config, InitOptions{4});
  for (const auto& [seq_len, batch] : {std::pair{6, 4}, std::pair{3, 2}}) {
    CallResults fresh;
    std::thread([&] { fresh = CallsAt(model, seq_len, batch, 7); }).join();
    CallsAt(model, 9, 7, 1);  // bigger
    CallsAt(model, 2, 1, 2);  // smaller
    EXPECT_TRUE(CallsAt(model, seq_len, batch, 7) == fresh)
        << "T=" << seq_len << " B=" << batch;
  }
}

// Without a head the top layer writes into the caller's y. A caller may
// feed y back as the next call's input, or its states, into an output that
// must grow: the call reads them from y's old storage after y would have
// been reallocated, so that call must leave y alone until the end (under
// AddressSanitizer, reading the old storage is a use after free).
TEST(CallBuffers, AnOutputHoldingTheInputGetsWhatACopyOfTheInputGives) {
  ModelConfig config;
  config.input_size = 2;
  config.hidden_size = 8;
  config.num_layers = 2;
  const Model model(config, InitOptions{6});
  const std::vector<float> first_x = RandomVector(2 * 1 * 2, 3);
  const std::vector<float> x = RandomVector(4 * 1 * 2, 4);
  for (int fed : {0, 1}) {
    Output out;
    model.Forward(Input{2, 1, first_x, {}, {}, {}},
                  &out);  // y: 2 x 1 x 8 floats
    const std::vector<float> copy = out.y;
    // As x: T = 8, B = 1, I = 2, whose y takes 64 floats. As states, each
    // [2][1][8], beside an x of T = 4, whose y takes 32.
    const Input from_y = fed == 0 ? Input{8, 1, out.y, {}, {}, {}}
                                  : Input{4, 1, x, out.y, out.y, {}};
    const Input from_copy = fed == 0 ? Input{8, 1, copy, {}, {}, {}}
                                     : Input{4, 1, x, copy, copy, {}};
    const Output want = model.Forward(from_copy);
    model.Forward(from_y, &out);
    EXPECT_EQ(out.y, want.y) << (fed == 0 ? "x" : "h0, c0") << " in y";
    EXPECT_EQ(out.h_n, want.h_n) << (fed == 0 ? "x" : "h0, c0") << " in y";
  }
}

// Gradients filled for one model and then for a smaller one hold exactly
// what fresh gradients hold, and start on a cache line, where the weight
// gradient tiles write whole lines (a std::vector of this size starts 16
// bytes past one).
TEST(Gradients, ReusedForAnotherModelMatchFreshOnesAndStartOnACacheLine) {
  ModelConfig big;
  big.input_size = 128;
  big.hidden_size = 128;
  ModelConfig small = big;
  small.hidden_size = 96;
  auto compute = [](const ModelConfig& config, Gradients* grads) {
    const Model model(config, InitOptions{5});
    const int seq_len = 3, batch = 2;
    const std::vector<float> x =
        RandomVector(size_t(seq_len) * batch * config.input_size, 6);
    const std::vector<float> y =
        RandomVector(size_t(seq_len) * batch * config.hidden_size, 7);
    model.ComputeGradients({seq_len, batch, x, {}, {}, {}}, {y, {}}, {}, grads);
  };
  Gradients reused;
  compute(big, &reused);
  compute(small, &reused);
  Gradients fresh;
  compute(small, &fresh);
  const Span<const float> a = std::as_const(reused).parameters();
  const Span<const float> b = std::as_const(fresh).parameters();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  for (const Gradients* grads : {&reused, &fresh}) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(grads->parameters().data()) % 64, 0u);
  }
}

}  // namespace
}  // namespace lstmkit
