// Parallel execution: bitwise the same results for every thread count, one
// model serving many threads, and nested use from an application's own
// threads and TBB loops.
#include "threads.h"

#include <gtest/gtest.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"
#include "lstmkit/lstmkit.hpp"
#include "parallel_gemm.h"
#include "test_util.h"
#include "tsan_annotations.h"
#include "tuning.h"

namespace lstmkit {
namespace {

using testing::RandomVector;

// Ragged sizes: 37 units fill no vector, 9 x 13 = 117 rows span two GEMM
// row blocks, the gate width spans two column blocks.
ModelConfig Config() {
  ModelConfig config;
  config.input_size = 5;
  config.hidden_size = 37;
  config.num_layers = 2;
  config.output_size = 3;
  return config;
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<float> Parameters(const Model& model) {
  const Span<const float> p = model.parameters();
  return {p.begin(), p.end()};
}

constexpr int kThreadCounts[] = {1, 2, 3, 4, 7};

// Batches for the time loop's two ways of splitting work: 13 rows are too
// few for row blocks at 2 or more threads, so each step is sliced over
// hidden units; 70 rows make 2 to 4 ragged blocks per direction at 2 to 4
// threads (and at 7 for a bidirectional layer), each walking every step
// alone.
constexpr int kBatches[] = {13, 70};

struct TrainingResult {
  std::vector<double> losses;
  std::vector<float> parameters;
};

TrainingResult Train(int threads) {
  Model model(Config(), InitOptions{11});
  model.set_threads(threads);
  Dataset data;
  data.num_samples = 40;
  data.seq_len = 9;
  data.inputs = RandomVector(40 * 9 * 5, 1);
  data.targets = RandomVector(40 * 9 * 3, 2);
  TrainerConfig tc;
  tc.epochs = 3;
  tc.batch_size = 13;
  tc.optimizer.learning_rate = 0.01f;
  tc.clip_norm = 1.0f;
  Trainer trainer(&model, tc);
  TrainingResult result;
  for (const EpochReport& r : trainer.Fit(data)) {
    result.losses.push_back(r.train_loss);
  }
  result.parameters = Parameters(model);
  return result;
}

TEST(Determinism, TrainingIsBitwiseTheSameForEveryThreadCount) {
  const TrainingResult one = Train(1);
  for (int threads : kThreadCounts) {
    const TrainingResult other = Train(threads);
    EXPECT_EQ(other.losses, one.losses) << threads << " threads";
    EXPECT_TRUE(BitwiseEqual(other.parameters, one.parameters))
        << threads << " threads";
  }
}

// Over 32768 parameters per optimizer task, so that a step splits into
// four tasks, the last ragged.
ModelConfig ManyParametersConfig() {
  ModelConfig config;
  config.input_size = 100;
  config.hidden_size = 128;
  config.output_size = 3;
  return config;
}

Gradients GradientsOf(const Model& model) {
  const int seq_len = 4, batch = 3;
  const std::vector<float> x = RandomVector(seq_len * batch * 100, 3);
  const std::vector<float> y = RandomVector(seq_len * batch * 3, 4);
  Gradients grads;
  model.ComputeGradients(Input{seq_len, batch, x, {}, {}, {}}, Target{y, {}},
                         LossConfig{}, &grads);
  return grads;
}

std::vector<float> AfterOptimizerSteps(OptimizerConfig::Kind kind,
                                       int threads) {
  Model model(ManyParametersConfig(), InitOptions{5});
  model.set_threads(threads);
  const Gradients grads = GradientsOf(model);
  OptimizerConfig config;
  config.kind = kind;
  config.momentum = 0.9f;
  config.weight_decay = 0.01f;
  Optimizer optimizer(config);
  for (int step = 0; step < 3; ++step) optimizer.Step(&model, grads);
  return Parameters(model);
}

TEST(Determinism, OptimizerStepsInManyTasksAreBitwiseTheSame) {
  ASSERT_GT(Model(ManyParametersConfig(), InitOptions{5}).parameters().size(),
            3u * 32768u);
  for (const auto kind :
       {OptimizerConfig::Kind::kSgd, OptimizerConfig::Kind::kAdam}) {
    const std::vector<float> one = AfterOptimizerSteps(kind, 1);
    for (int threads : kThreadCounts) {
      EXPECT_TRUE(BitwiseEqual(AfterOptimizerSteps(kind, threads), one))
          << threads << " threads, kind " << static_cast<int>(kind);
    }
  }
}

// An update that would overflow in one task leaves every task's parameters
// and the optimizer's state alone, and the message names the first such
// parameter even when a later task also has one: for Adam, SGD with
// momentum, and SGD without, which keeps no velocity.
struct OptimizerCase {
  OptimizerConfig::Kind kind;
  float momentum;
};

class OptimizerOverflow : public ::testing::TestWithParam<OptimizerCase> {};

INSTANTIATE_TEST_SUITE_P(
    Kinds, OptimizerOverflow,
    ::testing::Values(OptimizerCase{OptimizerConfig::Kind::kAdam, 0.0f},
                      OptimizerCase{OptimizerConfig::Kind::kSgd, 0.5f},
                      OptimizerCase{OptimizerConfig::Kind::kSgd, 0.0f}));

TEST_P(OptimizerOverflow, AnOverflowInAnyTaskChangesNothing) {
  Model model(ManyParametersConfig(), InitOptions{5});
  model.set_threads(3);
  Gradients grads = GradientsOf(model);
  const size_t n = grads.parameters().size();
  grads.parameters()[n - 1] = 3e38f;
  grads.parameters()[40000] = -3e38f;
  OptimizerConfig config;
  config.kind = GetParam().kind;
  config.learning_rate = 10.0f;
  config.momentum = GetParam().momentum;
  Optimizer optimizer(config);
  const std::vector<float> before = Parameters(model);
  try {
    optimizer.Step(&model, grads);
    ADD_FAILURE() << "the step did not fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("parameter 40000 non-finite"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(BitwiseEqual(Parameters(model), before));
  EXPECT_EQ(optimizer.steps(), 0);
  const std::vector<float> velocity = optimizer.state().first;
  EXPECT_TRUE(std::all_of(velocity.begin(), velocity.end(),
                          [](float v) { return v == 0.0f; }));
}

// SGD without momentum is p -= lr * (g + weight_decay * p) in every task,
// and its velocity stays zero (it is neither read nor written).
TEST(OptimizerStep, PlainSgdIsTheTextbookUpdateAndKeepsNoVelocity) {
  Model model(ManyParametersConfig(), InitOptions{5});
  model.set_threads(3);
  const Gradients grads = GradientsOf(model);
  OptimizerConfig config;
  config.kind = OptimizerConfig::Kind::kSgd;
  config.learning_rate = 0.1f;
  config.weight_decay = 0.01f;
  Optimizer optimizer(config);
  std::vector<float> expected = Parameters(model);
  for (int step = 0; step < 2; ++step) {
    optimizer.Step(&model, grads);
    for (size_t i = 0; i < expected.size(); ++i) {
      const float g = grads.parameters()[i] + 0.01f * expected[i];
      expected[i] -= 0.1f * g;
    }
  }
  const std::vector<float> got = Parameters(model);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], expected[i], 1e-6f * (1.0f + std::fabs(expected[i])))
        << "parameter " << i;
  }
  const std::vector<float> velocity = optimizer.state().first;
  EXPECT_EQ(velocity.size(), got.size());
  EXPECT_TRUE(std::all_of(velocity.begin(), velocity.end(),
                          [](float v) { return v == 0.0f; }));
}

class BatchDeterminism : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Batches, BatchDeterminism,
                         ::testing::ValuesIn(kBatches));

TEST_P(BatchDeterminism, GradientsAreBitwiseTheSameForEveryThreadCount) {
  Model model(Config(), InitOptions{12});
  const int seq_len = 9, batch = GetParam();
  const std::vector<float> x = RandomVector(seq_len * batch * 5, 3);
  const std::vector<float> y = RandomVector(seq_len * batch * 3, 4);
  Target target;
  target.values = y;
  Gradients reference;
  model.set_threads(1);
  model.ComputeGradients({seq_len, batch, x, {}, {}, {}}, target, {},
                         &reference);
  const Span<const float> ref = reference.parameters();
  for (int threads : kThreadCounts) {
    model.set_threads(threads);
    Gradients grads;
    model.ComputeGradients({seq_len, batch, x, {}, {}, {}}, target, {}, &grads);
    const Span<const float> g = grads.parameters();
    ASSERT_EQ(g.size(), ref.size());
    EXPECT_EQ(0, std::memcmp(g.data(), ref.data(), g.size() * sizeof(float)))
        << threads << " threads";
    EXPECT_TRUE(BitwiseEqual(grads.x, reference.x)) << threads;
    EXPECT_TRUE(BitwiseEqual(grads.h0, reference.h0)) << threads;
    EXPECT_TRUE(BitwiseEqual(grads.c0, reference.c0)) << threads;
  }
}

TEST_P(BatchDeterminism, VariableLengthTrainingIsBitwiseTheSame) {
  Model model(Config(), InitOptions{16});
  const int seq_len = 9, batch = GetParam();
  const std::vector<float> x = RandomVector(seq_len * batch * 5, 6);
  const std::vector<float> y = RandomVector(seq_len * batch * 3, 7);
  std::vector<int32_t> lengths;
  for (int b = 0; b < batch; ++b) lengths.push_back(1 + (5 * b) % seq_len);
  Target target;
  target.values = y;
  std::vector<float> first;
  for (int threads : kThreadCounts) {
    model.set_threads(threads);
    Gradients grads;
    model.ComputeGradients({seq_len, batch, x, {}, {}, lengths}, target, {},
                           &grads);
    const Span<const float> g = grads.parameters();
    if (first.empty()) first.assign(g.begin(), g.end());
    EXPECT_TRUE(BitwiseEqual({g.begin(), g.end()}, first))
        << threads << " threads";
  }
}

// Both directions of a bidirectional layer step on one team, each with its
// own slices; projections add a phase; dropout masks come from a hash. None
// of it may depend on the thread count.
TEST_P(BatchDeterminism,
       BidirectionalProjectedDropoutTrainingIsBitwiseTheSame) {
  ModelConfig config = Config();
  config.bidirectional = true;
  config.proj_size = 11;
  config.dropout = 0.3f;
  Model model(config, InitOptions{17});
  const int seq_len = 9, batch = GetParam();
  const std::vector<float> x = RandomVector(seq_len * batch * 5, 8);
  const std::vector<float> y = RandomVector(seq_len * batch * 3, 9);
  std::vector<int32_t> lengths;
  for (int b = 0; b < batch; ++b) lengths.push_back(1 + (4 * b) % seq_len);
  Target target;
  target.values = y;
  Input input{seq_len, batch, x, {}, {}, lengths};
  input.dropout_seed = 123;
  std::vector<float> first_grads, first_y;
  for (int threads : kThreadCounts) {
    model.set_threads(threads);
    Gradients grads;
    model.ComputeGradients(input, target, {}, &grads);
    const Span<const float> g = grads.parameters();
    const std::vector<float> out = model.Forward(input).y;
    if (first_grads.empty()) {
      first_grads.assign(g.begin(), g.end());
      first_y = out;
    }
    EXPECT_TRUE(BitwiseEqual({g.begin(), g.end()}, first_grads))
        << threads << " threads";
    EXPECT_TRUE(BitwiseEqual(out, first_y)) << threads << " threads";
  }
}

// Dropout acts in training only: inference is deterministic and the seed
// has no effect on it, while it changes the gradients.
TEST(Dropout, OnlyInTrainingAndSeededByTheCaller) {
  ModelConfig config = Config();
  config.dropout = 0.5f;
  Model model(config, InitOptions{18});
  const std::vector<float> x = RandomVector(9 * 4 * 5, 10);
  const std::vector<float> y = RandomVector(9 * 4 * 3, 11);
  Target target;
  target.values = y;
  Input a{9, 4, x, {}, {}, {}}, b = a;
  a.dropout_seed = 1;
  b.dropout_seed = 2;
  EXPECT_TRUE(BitwiseEqual(model.Forward(a).y, model.Forward(b).y));
  Gradients ga, ga_again, gb;
  model.ComputeGradients(a, target, {}, &ga);
  model.ComputeGradients(a, target, {}, &ga_again);
  model.ComputeGradients(b, target, {}, &gb);
  const Span<const float> pa = ga.parameters(), pa2 = ga_again.parameters(),
                          pb = gb.parameters();
  EXPECT_TRUE(BitwiseEqual({pa.begin(), pa.end()}, {pa2.begin(), pa2.end()}));
  EXPECT_FALSE(BitwiseEqual({pa.begin(), pa.end()}, {pb.begin(), pb.end()}));
}

TEST(Determinism, InferenceIsBitwiseTheSameForEveryThreadCount) {
  Model model(Config(), InitOptions{13});
  for (int batch : {1, 13, 70}) {
    const std::vector<float> x = RandomVector(9 * batch * 5, 5);
    model.set_threads(1);
    const Output one = model.Forward({9, batch, x, {}, {}, {}});
    for (int threads : kThreadCounts) {
      model.set_threads(threads);
      const Output other = model.Forward({9, batch, x, {}, {}, {}});
      EXPECT_TRUE(BitwiseEqual(other.y, one.y)) << threads << " B=" << batch;
      EXPECT_TRUE(BitwiseEqual(other.h_n, one.h_n)) << threads;
      EXPECT_TRUE(BitwiseEqual(other.c_n, one.c_n)) << threads;
    }
  }
}

// The parallel GEMM packs B once for all of its tasks; its result must be
// bitwise the single-threaded kernel's, for A stored either way (its rows
// in order or through a row map), B stored either way, beta 0 or 1, and
// ragged shapes (K = 0 included).
TEST(ParallelGemm, BitwiseTheSingleThreadedKernel) {
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  const internal::Tuning tuning = internal::ActiveTuning(kt);
  struct Shape {
    int m, n, k;
  };
  // 400 x 136 takes the whole-column split, 67 x 129 two column blocks;
  // 97 rows leave a task of one row, which must not take the GEMV path.
  for (const Shape& s :
       {Shape{400, 136, 64}, Shape{67, 129, 263}, Shape{97, 40, 50},
        Shape{5, 3, 17}, Shape{130, 40, 0}}) {
    const std::vector<float> a = RandomVector(size_t(s.m) * s.k, 31);
    const std::vector<float> b = RandomVector(size_t(s.k) * s.n, 32);
    const std::vector<float> c0 = RandomVector(size_t(s.m) * s.n, 33);
    std::vector<int> reversed(s.m);
    for (int i = 0; i < s.m; ++i) reversed[i] = s.m - 1 - i;
    for (int a_form = 0; a_form < 4; ++a_form) {
      const bool a_by_column = a_form % 2 == 1;
      for (bool b_by_column : {false, true}) {
        kernels::MatrixA ma = a_by_column ? kernels::MatrixA{a.data(), 1, s.m}
                                          : kernels::MatrixA{a.data(), s.k, 1};
        // Rows through a map: each task must start at its own rows of it.
        if (a_form >= 2) ma.row_map = reversed.data();
        const kernels::MatrixB mb = b_by_column
                                        ? kernels::MatrixB{b.data(), 1, s.k}
                                        : kernels::MatrixB{b.data(), s.n, 1};
        for (float beta : {0.0f, 1.0f}) {
          std::vector<float> want = c0;
          kt.gemm(s.m, s.n, s.k, ma, mb, beta, want.data(), s.n, tuning.gemm);
          for (int threads : kThreadCounts) {
            const internal::Threads pool(threads);
            const internal::GemmContext ctx{&pool, &kt, &tuning};
            std::vector<float> got = c0;
            pool.Run([&] {
              internal::ParallelGemm(ctx, s.m, s.n, s.k, ma, mb, beta,
                                     got.data(), s.n);
            });
            EXPECT_TRUE(BitwiseEqual(got, want))
                << threads << " threads, m=" << s.m << " n=" << s.n
                << " k=" << s.k << " A by column " << a_by_column
                << ", rows mapped " << (a_form >= 2) << ", B by column "
                << b_by_column << ", beta " << beta;
          }
        }
      }
    }
  }
}

// The weight gradients' products share A: each output must be bitwise the
// single-threaded kernel's product alone, for A stored either way or
// through a row map, B stored either way, ragged shapes (K = 0 included),
// and scratch reused from a call of another shape.
TEST(ParallelGemmSharedA, BitwiseEachProductAloneForEveryThreadCount) {
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  const internal::Tuning tuning = internal::ActiveTuning(kt);
  struct Shape {
    int m, k, n0, n1;
  };
  kernels::PackedB scratch[2];
  // K = 300 crosses the default kc, so later K blocks must start from C.
  for (const Shape& s :
       {Shape{400, 64, 136, 40}, Shape{97, 50, 40, 3}, Shape{5, 17, 3, 9},
        Shape{130, 0, 40, 7}, Shape{70, 300, 20, 33}}) {
    const std::vector<float> a = RandomVector(size_t(s.m) * s.k, 35);
    const int n[2] = {s.n0, s.n1};
    std::vector<float> b[2];
    for (int q = 0; q < 2; ++q) b[q] = RandomVector(size_t(s.k) * n[q], 36 + q);
    std::vector<int> reversed(s.m);
    for (int i = 0; i < s.m; ++i) reversed[i] = s.m - 1 - i;
    for (int a_form = 0; a_form < 3; ++a_form) {
      kernels::MatrixA ma = a_form == 0 ? kernels::MatrixA{a.data(), s.k, 1}
                                        : kernels::MatrixA{a.data(), 1, s.m};
      if (a_form == 2) ma.row_map = reversed.data();
      for (bool b_by_column : {false, true}) {
        kernels::MatrixB mb[2];
        std::vector<float> want[2];
        for (int q = 0; q < 2; ++q) {
          mb[q] = b_by_column ? kernels::MatrixB{b[q].data(), 1, s.k}
                              : kernels::MatrixB{b[q].data(), n[q], 1};
          want[q].assign(size_t(s.m) * n[q], -1.0f);
          kt.gemm(s.m, n[q], s.k, ma, mb[q], 0.0f, want[q].data(), n[q],
                  tuning.gemm);
        }
        for (int threads : kThreadCounts) {
          const internal::Threads pool(threads);
          const internal::GemmContext ctx{&pool, &kt, &tuning};
          std::vector<float> got[2];
          internal::SharedAOutput outputs[2];
          for (int q = 0; q < 2; ++q) {
            got[q].assign(want[q].size(), std::nanf(""));
            outputs[q] = {mb[q], n[q], got[q].data(), n[q], &scratch[q]};
          }
          pool.Run([&] {
            internal::ParallelGemmSharedA(ctx, s.m, s.k, ma, outputs, 2);
          });
          for (int q = 0; q < 2; ++q) {
            EXPECT_TRUE(BitwiseEqual(got[q], want[q]))
                << "product " << q << ", " << threads << " threads, m=" << s.m
                << " k=" << s.k << " n=" << n[q] << " A form " << a_form
                << ", B by column " << b_by_column;
          }
        }
      }
    }
  }
}

// The bias gradients: every column summed over its rows in row order, so
// the bits are the plain loop's whatever the thread count and column cut.
TEST(ParallelColumnSums, BitwiseTheRowOrderSumForEveryThreadCount) {
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  const internal::Tuning tuning = internal::ActiveTuning(kt);
  for (int rows : {0, 3, 129}) {
    for (int cols : {1, 17, 100, 1000}) {
      const int lda = cols + 5;
      const std::vector<float> a = RandomVector(size_t(rows) * lda, 34);
      std::vector<float> want(cols, 0.0f);
      for (int r = 0; r < rows; ++r) {
        for (int j = 0; j < cols; ++j) want[j] += a[size_t(r) * lda + j];
      }
      for (int threads : kThreadCounts) {
        const internal::Threads pool(threads);
        const internal::GemmContext ctx{&pool, &kt, &tuning};
        std::vector<float> got(cols + 1, -1.0f);
        pool.Run([&] {
          internal::ParallelColumnSums(ctx, rows, cols, a.data(), lda,
                                       got.data());
        });
        EXPECT_EQ(got.back(), -1.0f) << "wrote past column " << cols;
        got.pop_back();
        EXPECT_TRUE(BitwiseEqual(got, want))
            << threads << " threads, rows=" << rows << " cols=" << cols;
      }
    }
  }
}

TEST(Threads, RejectsNegativeCounts) {
  Model model(Config(), InitOptions{1});
  EXPECT_THROW(model.set_threads(-1), Error);
  model.set_threads(3);
  EXPECT_EQ(model.threads(), 3);
}

// One model, eight application threads, each with its own input.
TEST(Concurrency, EightThreadsOnOneModelMatchSerialRuns) {
  Model model(Config(), InitOptions{14});
  model.set_threads(2);
  constexpr int kCallers = 8;
  std::vector<std::vector<float>> inputs, serial;
  for (int i = 0; i < kCallers; ++i) {
    inputs.push_back(RandomVector(9 * 4 * 5, 20 + i));
    serial.push_back(model.Forward({9, 4, inputs[i], {}, {}, {}}).y);
  }
  std::vector<std::vector<float>> parallel(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      for (int repeat = 0; repeat < 3; ++repeat) {
        parallel[i] = model.Forward({9, 4, inputs[i], {}, {}, {}}).y;
      }
    });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_TRUE(BitwiseEqual(parallel[i], serial[i])) << "caller " << i;
  }
}

// Layer 0's input rows are packed by the first call that asks for input
// gradients after the weights change: eight callers racing to be that
// call all get what a model with its rows packed serially gives.
TEST(Concurrency, EightThreadsAskingForInputGradientsMatchASerialRun) {
  Model model(Config(), InitOptions{15});
  model.set_threads(2);
  const Model serial_model = model;
  const std::vector<float> x = RandomVector(9 * 4 * 5, 41);
  const std::vector<float> y = RandomVector(9 * 4 * 3, 42);
  Target target;
  target.values = y;
  const Input input{9, 4, x, {}, {}, {}};
  Gradients expected;
  serial_model.ComputeGradients(input, target, {}, &expected);
  constexpr int kCallers = 8;
  std::vector<Gradients> parallel(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back(
        [&, i] { model.ComputeGradients(input, target, {}, &parallel[i]); });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_TRUE(BitwiseEqual(parallel[i].x, expected.x)) << "caller " << i;
  }
}

int ProcessThreads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// One iteration of the application's loop: the order the sanitizer needs is
// keyed on the body's own address, which a thread knows before it reads the
// body's members.
struct CheckingBody {
  const Model* model;
  const std::vector<float>* x;
  const std::vector<float>* expected;
  std::vector<int>* wrong;

  void operator()(int i) const {
    LSTMKIT_TSAN_ACQUIRE(const_cast<CheckingBody*>(this));
    (*wrong)[i] =
        !BitwiseEqual(model->Forward({9, 3, *x, {}, {}, {}}).y, *expected);
    LSTMKIT_TSAN_RELEASE(const_cast<CheckingBody*>(this));
  }
};

// An application that runs its own TBB loop and calls the model from every
// iteration: calls nest, results stay exact, and the library starts no
// threads of its own beyond TBB's shared pool.
TEST(Concurrency, NestedCallsFromAnApplicationsTbbLoop) {
  Model model(Config(), InitOptions{15});
  model.set_threads(2);
  const std::vector<float> x = RandomVector(9 * 3 * 5, 30);
  const std::vector<float> expected = model.Forward({9, 3, x, {}, {}, {}}).y;
  const int before = ProcessThreads();
  std::vector<int> wrong(64, 0);
  oneapi::tbb::task_arena app_arena(4);
  // The test is the application here: like the library, it tells the
  // thread sanitizer about the ordering its TBB loop provides.
  const CheckingBody body{&model, &x, &expected, &wrong};
  const auto loop = [&] { oneapi::tbb::parallel_for(0, 64, body); };
  LSTMKIT_TSAN_RELEASE(const_cast<CheckingBody*>(&body));
  app_arena.execute(loop);
  LSTMKIT_TSAN_ACQUIRE(const_cast<CheckingBody*>(&body));
  for (int i = 0; i < 64; ++i) EXPECT_EQ(wrong[i], 0) << "iteration " << i;
  const int after = ProcessThreads();
  // TBB's pool holds at most one worker per core beyond the callers; the
  // library adds none.
  EXPECT_LE(after - before,
            static_cast<int>(std::thread::hardware_concurrency()) + 4)
      << "threads before: " << before << ", after: " << after;
}

}  // namespace
}  // namespace lstmkit
