// Gradient checks. The double reference's analytic gradients (reference::
// Backward) are judged against finite differences of reference::Loss, every
// element of every parameter tensor, of x, of h0 and of c0; the production
// float gradients (Model::ComputeGradients) are then judged against the
// reference's, tensor by tensor.
//
// Finite differences: the fourth-order central stencil
//   (8 (L(p+h) - L(p-h)) - (L(p+2h) - L(p-2h))) / (12 h),   h = 1e-3.
// Its truncation error is O(h^4) and its rounding error about eps |L| / h, so
// h ~ (eps |L|)^(1/5) ~ 1e-3 balances the two; measured here it is at most
// 7e-13 absolute. The two-point stencil (L(p+h) - L(p-h)) / 2h has an O(h^2)
// truncation error, so its best step is ~(eps |L|)^(1/3) ~ 1e-5; at h = 1e-6
// it measured 3e-11..5e-10 absolute on 3-layer problems with T = 7, B = 5
// like those below. With gradients of x, h0, c0 and the lowest layer as small
// as 3e-5, that is 1e-6..2e-5 relative to those tensors: too coarse to judge
// a double reference.
//
// Bounds, per tensor (one parameter tensor, x, h0 or c0): with
// scale = max_i |expected_i|, every entry must satisfy
//   |actual_i - expected_i| <= relative * scale + absolute.
// Measuring against the tensor's largest entry keeps an entry near zero from
// turning harmless rounding into a huge ratio, while a single wrong entry of
// any size still shows up in the maximum.
//  - analytic vs finite differences, both double: relative 1e-10, absolute
//    1e-11. The absolute part is the finite differences' own rounding noise,
//    about eps |L| / h = 3e-13 for |L| ~ 1.5, with 14x to spare over the
//    worst seen here (7e-13); it matters for tensors whose gradients are all
//    small (those of x, h0, c0 and the lowest layer go down to 3e-5). For
//    tensors with gradients above 1e-2 the worst error relative to the
//    tensor's scale is 1e-13..1e-11.
//  - production float vs reference analytic: relative 1e-5, absolute 0:
//    float rounding of sums of O(T B) to O(T H) terms. The worst seen is
//    1.7e-6 (the biases of layer 1, where the sum over steps cancels), most
//    tensors stay under 7e-7.
// A NaN or infinity anywhere, or a size mismatch, fails the comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "reference.h"
#include "test_util.h"

namespace lstmkit {
namespace {

using testing::RandomVector;

constexpr double kFdStep = 1e-3;

struct Bound {
  double relative, absolute;
};
constexpr Bound kFdBound = {1e-10, 1e-11};
constexpr Bound kFloatBound = {1e-5, 0.0};

struct TensorError {
  std::string name;
  size_t size = 0;
  double scale = 0.0;     // max |expected|
  double max_abs = 0.0;   // max |actual - expected|
  double relative = 0.0;  // max_abs / scale
  double used = 0.0;      // max_abs / the allowance; at most 1 passes
  size_t worst = 0;       // the index of max_abs, or of the first non-finite
  bool ok = false;
};

template <typename Actual>
TensorError CompareTensor(const std::string& name, const Actual& actual,
                          const std::vector<double>& expected, Bound bound) {
  TensorError e;
  e.name = name;
  e.size = expected.size();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (static_cast<size_t>(actual.size()) != expected.size()) {
    e.max_abs = e.relative = e.used = kInf;
    return e;
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    const double a = static_cast<double>(actual[i]);
    // std::max drops a NaN silently, so non-finite values are caught here.
    if (!std::isfinite(a) || !std::isfinite(expected[i])) {
      e.max_abs = e.relative = e.used = kInf;
      e.worst = i;
      return e;
    }
    e.scale = std::max(e.scale, std::abs(expected[i]));
    const double diff = std::abs(a - expected[i]);
    if (diff > e.max_abs) {
      e.max_abs = diff;
      e.worst = i;
    }
  }
  e.relative = e.max_abs > 0.0 ? e.max_abs / e.scale : 0.0;
  const double allowance = bound.relative * e.scale + bound.absolute;
  e.used = e.max_abs > 0.0 ? e.max_abs / allowance : 0.0;
  e.ok = e.max_abs <= allowance;
  return e;
}

// The model's parameter tensors in parameter_names() order, which is the
// order of the flat parameter and gradient vectors.
struct Slice {
  std::string name;
  size_t offset, size;
};

std::vector<Slice> ParameterSlices(const Model& model) {
  std::vector<Slice> slices;
  size_t offset = 0;
  for (const std::string& name : model.parameter_names()) {
    size_t size = 1;
    for (int d : model.parameter_shape(name)) size *= static_cast<size_t>(d);
    slices.push_back({name, offset, size});
    offset += size;
  }
  return slices;
}

template <typename T>
std::vector<T> Part(const std::vector<T>& all, const Slice& s) {
  if (s.offset + s.size > all.size()) return {};
  return std::vector<T>(all.begin() + s.offset,
                        all.begin() + s.offset + s.size);
}

// Fourth-order central differences of the loss with respect to every element
// of problem.*field.
std::vector<double> FiniteDifferences(
    reference::Problem problem, const reference::Objective& objective,
    std::vector<double> reference::Problem::*field) {
  std::vector<double>& values = problem.*field;
  std::vector<double> grad(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double saved = values[i];
    auto loss_at = [&](double delta) {
      values[i] = saved + delta;
      const double loss = reference::Loss(problem, objective);
      values[i] = saved;
      return loss;
    };
    const double near = loss_at(kFdStep) - loss_at(-kFdStep);
    const double far = loss_at(2 * kFdStep) - loss_at(-2 * kFdStep);
    grad[i] = (8.0 * near - far) / (12.0 * kFdStep);
  }
  return grad;
}

struct FullGradient {
  std::vector<double> params, x, h0, c0;
};

FullGradient FiniteDifferenceGradient(const reference::Problem& problem,
                                      const reference::Objective& objective) {
  using reference::Problem;
  return {FiniteDifferences(problem, objective, &Problem::params),
          FiniteDifferences(problem, objective, &Problem::x),
          FiniteDifferences(problem, objective, &Problem::h0),
          FiniteDifferences(problem, objective, &Problem::c0)};
}

// One comparison per parameter tensor, then x, h0 and c0.
template <typename Vec>
std::vector<TensorError> CompareAll(const std::vector<Slice>& slices,
                                    const Vec& params, const Vec& x,
                                    const Vec& h0, const Vec& c0,
                                    const FullGradient& expected, Bound bound) {
  std::vector<TensorError> errors;
  for (const Slice& s : slices) {
    std::vector<double> actual(params.begin(), params.end());
    if (params.size() != expected.params.size()) actual.clear();
    errors.push_back(CompareTensor(s.name, Part(actual, s),
                                   Part(expected.params, s), bound));
  }
  errors.push_back(CompareTensor("x", x, expected.x, bound));
  errors.push_back(CompareTensor("h0", h0, expected.h0, bound));
  errors.push_back(CompareTensor("c0", c0, expected.c0, bound));
  return errors;
}

std::vector<TensorError> CheckAnalyticGradient(
    const std::vector<Slice>& slices, const reference::BackwardResult& analytic,
    const FullGradient& fd) {
  return CompareAll(slices, analytic.d_params, analytic.dx, analytic.dh0,
                    analytic.dc0, fd, kFdBound);
}

void ExpectAllWithinBound(const std::vector<TensorError>& errors,
                          const char* what) {
  for (const TensorError& e : errors) {
    EXPECT_TRUE(e.ok) << what << ": " << e.name << " max |diff| " << e.max_abs
                      << " at index " << e.worst << ", scale " << e.scale
                      << ", " << e.used << " times the allowance";
  }
}

// ---- The comparator itself -------------------------------------------------

TEST(CompareTensor, IdenticalTensorsPass) {
  const std::vector<double> g = {0.5, -0.25, 1e-4, 0.0};
  const TensorError e = CompareTensor("t", g, g, kFdBound);
  EXPECT_TRUE(e.ok);
  EXPECT_EQ(e.max_abs, 0.0);
  EXPECT_EQ(e.used, 0.0);
  EXPECT_EQ(e.scale, 0.5);
}

TEST(CompareTensor, ReportsAnEntryJustOverTheBound) {
  const std::vector<double> expected = {0.5, -0.25, 1e-4, 0.0, 0.125};
  const double allowance = kFdBound.relative * 0.5 + kFdBound.absolute;
  std::vector<double> actual = expected;
  // Twice the allowance on a small entry: it must be found even though the
  // tensor's largest entry is 5000 times bigger.
  actual[2] += 2.0 * allowance;
  TensorError e = CompareTensor("t", actual, expected, kFdBound);
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.worst, 2u);
  EXPECT_NEAR(e.used, 2.0, 1e-3);

  // Half the allowance passes: the bound is the one stated.
  actual[2] = expected[2] - 0.5 * allowance;
  e = CompareTensor("t", actual, expected, kFdBound);
  EXPECT_TRUE(e.ok);
  EXPECT_NEAR(e.used, 0.5, 1e-3);
}

TEST(CompareTensor, FloatBoundIsRelativeToTheTensorsOwnScale) {
  const std::vector<double> expected = {1e-6, -2e-6};
  std::vector<float> actual(expected.begin(), expected.end());
  EXPECT_TRUE(CompareTensor("t", actual, expected, kFloatBound).ok);
  actual[0] =
      static_cast<float>(expected[0] + 3.0 * kFloatBound.relative * 2e-6);
  EXPECT_FALSE(CompareTensor("t", actual, expected, kFloatBound).ok);
}

TEST(CompareTensor, NonFiniteValuesAndSizeMismatchesFail) {
  const std::vector<double> expected = {0.5, -0.25, 0.125};
  std::vector<double> actual = expected;
  actual[1] = std::nan("");
  TensorError e = CompareTensor("t", actual, expected, kFdBound);
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.worst, 1u);
  actual[1] = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(CompareTensor("t", actual, expected, kFdBound).ok);
  EXPECT_FALSE(CompareTensor("t", expected, actual, kFdBound).ok);
  EXPECT_FALSE(
      CompareTensor("t", std::vector<double>(2, 0.0), expected, kFdBound).ok);
  const std::vector<float> float_nan = {0.5f, std::nanf(""), 0.125f};
  EXPECT_FALSE(CompareTensor("t", float_nan, expected, kFloatBound).ok);
}

// ---- Gradient checks over a table of cases ---------------------------------

struct Case {
  const char* name;
  int input, hidden, layers;
  int output;  // 0: no head
  int seq_len, batch;
  OutputSteps steps;
  LossKind loss;    // kCrossEntropy goes with a softmax head
  bool zero_state;  // pass empty h0 and c0
  int32_t ignore_index;
  bool varied_lengths;  // sequences of different lengths (seq_lens)
  bool bidirectional = false;
  int proj_size = 0;
  float dropout = 0.0f;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

struct CaseData {
  CaseData(const ModelConfig& config, uint64_t seed, int t, int b)
      : model(config, InitOptions{seed}), seq_len(t), batch(b) {}

  Model model;
  int seq_len, batch;
  std::vector<float> x, h0, c0, values;
  std::vector<int32_t> labels, seq_lens;
  reference::Objective objective;

  // Views are made on demand so that they never outlive a moved CaseData.
  Input input() const {
    Input in{seq_len, batch, x, h0, c0, seq_lens};
    in.dropout_seed = 99;
    return in;
  }
  Target target() const {
    Target t;
    t.values = values;
    t.labels = labels;
    return t;
  }
};

CaseData MakeCase(const Case& c, uint64_t seed) {
  ModelConfig config;
  config.input_size = c.input;
  config.hidden_size = c.hidden;
  config.num_layers = c.layers;
  config.output_size = c.output;
  config.output_steps = c.steps;
  config.output_activation = c.loss == LossKind::kCrossEntropy
                                 ? OutputActivation::kSoftmax
                                 : OutputActivation::kIdentity;
  config.bidirectional = c.bidirectional;
  config.proj_size = c.proj_size;
  config.dropout = c.dropout;
  CaseData s(config, seed, c.seq_len, c.batch);
  const int dirs = c.bidirectional ? 2 : 1;
  const size_t h_states = static_cast<size_t>(c.layers) * dirs * c.batch *
                          (c.proj_size > 0 ? c.proj_size : c.hidden);
  const size_t c_states =
      static_cast<size_t>(c.layers) * dirs * c.batch * c.hidden;
  s.x = RandomVector(static_cast<size_t>(c.seq_len) * c.batch * c.input,
                     seed + 1);
  if (!c.zero_state) {
    s.h0 = RandomVector(h_states, seed + 2, -0.8f, 0.8f);
    s.c0 = RandomVector(c_states, seed + 3, -0.8f, 0.8f);
  }
  // Lengths from T down to 1 and back, so that sequences end at different
  // steps and the longest is not first.
  for (int b = 0; c.varied_lengths && b < c.batch; ++b) {
    s.seq_lens.push_back(1 + (c.seq_len - 1 + 3 * b) % c.seq_len);
  }
  const int rows =
      c.steps == OutputSteps::kLastStep ? c.batch : c.seq_len * c.batch;
  s.objective.loss.kind = c.loss;
  s.objective.loss.ignore_index = c.ignore_index;
  if (c.loss == LossKind::kCrossEntropy) {
    // Every third row is ignored; the others cycle through the classes, so
    // with ignore_index inside [0, O) some rows of that class are ignored too.
    for (int r = 0; r < rows; ++r) {
      s.labels.push_back(r % 3 == 1 ? c.ignore_index : (5 * r + 2) % c.output);
    }
    s.objective.labels = s.labels;
  } else {
    s.values = RandomVector(static_cast<size_t>(rows) * s.model.output_width(),
                            seed + 4);
    s.objective.targets.assign(s.values.begin(), s.values.end());
  }
  return s;
}

class GradientCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradientCheck,
       ReferenceMatchesFiniteDifferencesAndFloatMatchesReference) {
  const Case& c = GetParam();
  const CaseData s = MakeCase(c, 17);
  const reference::Problem problem = reference::MakeProblem(s.model, s.input());
  const reference::BackwardResult analytic =
      reference::Backward(problem, s.objective);
  ASSERT_GT(analytic.loss, 0.0);

  // Empty h0/c0 mean zeros; differentiate with respect to explicit zeros.
  reference::Problem explicit_state = problem;
  const size_t directions = c.layers * (c.bidirectional ? 2 : 1);
  const size_t h_states =
      directions * c.batch * (c.proj_size > 0 ? c.proj_size : c.hidden);
  const size_t c_states = directions * c.batch * c.hidden;
  if (c.zero_state) {
    ASSERT_TRUE(problem.h0.empty());
    explicit_state.h0.assign(h_states, 0.0);
    explicit_state.c0.assign(c_states, 0.0);
    EXPECT_EQ(reference::Loss(explicit_state, s.objective), analytic.loss);
  }
  const FullGradient fd = FiniteDifferenceGradient(explicit_state, s.objective);

  const std::vector<Slice> slices = ParameterSlices(s.model);
  ASSERT_EQ(slices.back().offset + slices.back().size,
            analytic.d_params.size());
  ASSERT_EQ(analytic.dx.size(), s.x.size());
  ASSERT_EQ(analytic.dh0.size(), h_states);
  ASSERT_EQ(analytic.dc0.size(), c_states);
  const std::vector<TensorError> fd_errors =
      CheckAnalyticGradient(slices, analytic, fd);
  ExpectAllWithinBound(fd_errors, "reference vs finite differences");

  Gradients grads;
  const float loss =
      s.model.ComputeGradients(s.input(), s.target(), s.objective.loss, &grads);
  EXPECT_NEAR(loss, analytic.loss, 1e-6 * std::max(1.0, analytic.loss));
  const FullGradient reference_grad = {analytic.d_params, analytic.dx,
                                       analytic.dh0, analytic.dc0};
  const Span<const float> float_params = std::as_const(grads).parameters();
  const std::vector<float> params(float_params.begin(), float_params.end());
  const std::vector<TensorError> float_errors = CompareAll(
      slices, params, grads.x, grads.h0, grads.c0, reference_grad, kFloatBound);
  ExpectAllWithinBound(float_errors, "float vs reference");

  // "rel" is max |diff| / scale; "used" is max |diff| / allowance.
  double worst_fd = 0.0, worst_float = 0.0;
  std::printf("%s (loss %.6f)\n", c.name, analytic.loss);
  std::printf("  %-13s %4s %9s | %-28s | %-18s\n", "tensor", "n", "scale",
              "fd: max|diff|   rel    used", "float: rel    used");
  for (size_t k = 0; k < fd_errors.size(); ++k) {
    const TensorError& f = fd_errors[k];
    const TensorError& g = float_errors[k];
    std::printf("  %-13s %4zu %9.2e | %9.2e %8.2e %8.2e | %8.2e %8.2e\n",
                f.name.c_str(), f.size, f.scale, f.max_abs, f.relative, f.used,
                g.relative, g.used);
    worst_fd = std::max(worst_fd, f.used);
    worst_float = std::max(worst_float, g.used);
  }
  std::printf("  largest share of the allowance: fd %.3f, float %.3f\n",
              worst_fd, worst_float);
}

// An analytic gradient that is wrong in a single entry, by a hair, is caught
// by the same check the table runs, and reported at the right tensor and
// index.
TEST(GradientCheck, CatchesOneWrongEntry) {
  const CaseData s =
      MakeCase(Case{"wrong_entry", 3, 4, 2, 2, 3, 2, OutputSteps::kEveryStep,
                    LossKind::kMeanSquaredError, false, -100, false},
               5);
  const reference::Problem problem = reference::MakeProblem(s.model, s.input());
  const FullGradient fd = FiniteDifferenceGradient(problem, s.objective);
  const std::vector<Slice> slices = ParameterSlices(s.model);
  for (const Slice& slice : slices) {
    SCOPED_TRACE(slice.name);
    reference::BackwardResult analytic =
        reference::Backward(problem, s.objective);
    std::vector<TensorError> errors =
        CheckAnalyticGradient(slices, analytic, fd);
    ExpectAllWithinBound(errors, "unperturbed");

    const size_t index = slice.size / 2;
    const double scale = CompareTensor("", Part(analytic.d_params, slice),
                                       Part(fd.params, slice), kFdBound)
                             .scale;
    analytic.d_params[slice.offset + index] +=
        3.0 * (kFdBound.relative * scale + kFdBound.absolute);
    errors = CheckAnalyticGradient(slices, analytic, fd);
    for (const TensorError& e : errors) {
      if (e.name == slice.name) {
        EXPECT_FALSE(e.ok);
        EXPECT_EQ(e.worst, index);
      } else {
        EXPECT_TRUE(e.ok) << e.name;
      }
    }
  }

  reference::BackwardResult analytic =
      reference::Backward(problem, s.objective);
  // A relative slip of 1e-6 in the largest entry of dc0, and a sign flip of
  // one entry of dx.
  const auto largest = std::max_element(
      analytic.dc0.begin(), analytic.dc0.end(),
      [](double a, double b) { return std::abs(a) < std::abs(b); });
  *largest *= 1.0 + 1e-6;
  analytic.dx[1] = -analytic.dx[1];
  const std::vector<TensorError> errors =
      CheckAnalyticGradient(slices, analytic, fd);
  EXPECT_FALSE(errors[slices.size()].ok);      // x
  EXPECT_TRUE(errors[slices.size() + 1].ok);   // h0
  EXPECT_FALSE(errors[slices.size() + 2].ok);  // c0
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GradientCheck,
    ::testing::Values(
        Case{"L1_T1_B1_NoHead_MSE_Every", 3, 2, 1, 0, 1, 1,
             OutputSteps::kEveryStep, LossKind::kMeanSquaredError, false, -100,
             false},
        Case{"L1_T7_B5_Head_MSE_Last", 2, 3, 1, 2, 7, 5, OutputSteps::kLastStep,
             LossKind::kMeanSquaredError, false, -100, false},
        Case{"L1_T7_B5_NoHead_MSE_Every_ZeroState", 4, 3, 1, 0, 7, 5,
             OutputSteps::kEveryStep, LossKind::kMeanSquaredError, true, -100,
             false},
        Case{"L1_T1_B5_Softmax_CE_Every", 2, 4, 1, 3, 1, 5,
             OutputSteps::kEveryStep, LossKind::kCrossEntropy, false, -100,
             false},
        Case{"L2_T3_B2_Head_MSE_Every_ZeroState", 5, 4, 2, 3, 3, 2,
             OutputSteps::kEveryStep, LossKind::kMeanSquaredError, true, -100,
             false},
        Case{"L3_T7_B1_Softmax_CE_Every", 3, 4, 3, 5, 7, 1,
             OutputSteps::kEveryStep, LossKind::kCrossEntropy, false, -100,
             false},
        Case{"L3_T1_B5_Softmax_CE_Last_IgnoreClass1", 4, 3, 3, 3, 1, 5,
             OutputSteps::kLastStep, LossKind::kCrossEntropy, false, 1, false},
        Case{"L3_T7_B5_NoHead_MSE_Last", 3, 2, 3, 0, 7, 5,
             OutputSteps::kLastStep, LossKind::kMeanSquaredError, false, -100,
             false},
        Case{"L3_T5_B3_Softmax_CE_Every", 2, 3, 3, 4, 5, 3,
             OutputSteps::kEveryStep, LossKind::kCrossEntropy, false, -100,
             false},
        Case{"L3_T6_B2_Head_MSE_Last_ZeroState", 4, 3, 3, 2, 6, 2,
             OutputSteps::kLastStep, LossKind::kMeanSquaredError, true, -100,
             false},
        // Sequences of different lengths (seq_lens).
        Case{"L2_T6_B5_Head_MSE_Every_Lengths", 3, 4, 2, 2, 6, 5,
             OutputSteps::kEveryStep, LossKind::kMeanSquaredError, false, -100,
             true},
        Case{"L3_T5_B4_Softmax_CE_Last_Lengths", 2, 3, 3, 3, 5, 4,
             OutputSteps::kLastStep, LossKind::kCrossEntropy, false, -100,
             true},
        Case{"L1_T7_B3_NoHead_MSE_Every_ZeroState_Lengths", 4, 3, 1, 0, 7, 3,
             OutputSteps::kEveryStep, LossKind::kMeanSquaredError, true, -100,
             true},
        Case{"L2_T4_B6_Softmax_CE_Every_Lengths", 3, 5, 2, 4, 4, 6,
             OutputSteps::kEveryStep, LossKind::kCrossEntropy, false, -100,
             true},
        // Bidirectional layers, projections, dropout, and all
        // of them together.
        Case{"L2_T5_B3_Bidirectional_Head_MSE_Every", 3, 4, 2, 2, 5, 3,
             OutputSteps::kEveryStep, LossKind::kMeanSquaredError, false, -100,
             false, true},
        Case{"L2_T5_B3_Projection3_NoHead_MSE_Every", 3, 5, 2, 0, 5, 3,
             OutputSteps::kEveryStep, LossKind::kMeanSquaredError, false, -100,
             false, false, 3},
        Case{"L3_T4_B3_Dropout_Head_MSE_Every", 2, 4, 3, 2, 4, 3,
             OutputSteps::kEveryStep, LossKind::kMeanSquaredError, false, -100,
             false, false, 0, 0.4f},
        Case{"L2_T6_B4_Bidir_Proj2_Dropout_Lengths_CE_Last", 3, 4, 2, 3, 6, 4,
             OutputSteps::kLastStep, LossKind::kCrossEntropy, false, -100, true,
             true, 2, 0.3f},
        Case{"L2_T5_B3_Bidir_Proj3_ZeroState_Lengths_MSE_Every", 4, 5, 2, 2, 5,
             3, OutputSteps::kEveryStep, LossKind::kMeanSquaredError, true,
             -100, true, true, 3}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace lstmkit
