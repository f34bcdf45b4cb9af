// Streams against whole-sequence Forward, on every target; their state
// calls; and that stepping never touches the heap.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "counting_allocator.h"
#include "lstmkit/lstmkit.hpp"
#include "test_util.h"

// Heap allocations are counted while armed (counting_allocator.h).
using lstmkit::testing::CountAllocation;
using lstmkit::testing::g_allocations;
using lstmkit::testing::g_counting;
using lstmkit::testing::g_watched_thread;
using lstmkit::testing::ThisThread;

// Outside sanitizer builds (whose runtimes own malloc), malloc itself is
// counted too, which also sees oneTBB's allocations.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define LSTMKIT_COUNT_MALLOC 1
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t align, size_t size);
void* malloc(size_t size) {
  CountAllocation();
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  CountAllocation();
  return __libc_calloc(count, size);
}
void* realloc(void* p, size_t size) {
  CountAllocation();
  return __libc_realloc(p, size);
}
void* memalign(size_t align, size_t size) {
  CountAllocation();
  return __libc_memalign(align, size);
}
void* aligned_alloc(size_t align, size_t size) { return memalign(align, size); }
int posix_memalign(void** out, size_t align, size_t size) {
  *out = memalign(align, size);
  return *out == nullptr ? 12 : 0;
}
}
#endif

namespace lstmkit {
namespace {

using testing::RandomVector;

ModelConfig Config(int output_size, OutputActivation activation) {
  ModelConfig config;
  config.input_size = 5;
  config.hidden_size = 19;
  config.num_layers = 2;
  config.output_size = output_size;
  config.output_activation = activation;
  return config;
}

class StreamOnTarget : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    saved_ = ActiveTarget();
    SetTarget(GetParam());
  }
  void TearDown() override { SetTarget(saved_); }
  std::string saved_;
};

// The same arithmetic in the same order as Forward with B = 1, so the bits
// must agree exactly, with and without a head.
TEST_P(StreamOnTarget, StepsMatchForwardBitwise) {
  for (const auto& [output, activation] :
       {std::pair{0, OutputActivation::kIdentity},
        std::pair{3, OutputActivation::kIdentity},
        std::pair{4, OutputActivation::kSoftmax}}) {
    const Model model(Config(output, activation), InitOptions{3});
    const int steps = 9, in = 5, out = model.output_width();
    const std::vector<float> x = RandomVector(steps * in, 8);
    const Output expected = model.Forward({steps, 1, x, {}, {}, {}});
    Stream stream(model);
    std::vector<float> y(out);
    for (int t = 0; t < steps; ++t) {
      stream.Step({x.data() + t * in, static_cast<size_t>(in)}, y);
      for (int j = 0; j < out; ++j) {
        ASSERT_EQ(y[j], expected.y[t * out + j])
            << "step " << t << " unit " << j;
      }
    }
    std::vector<float> h(stream.state_size()), c(stream.state_size());
    stream.GetState(h, c);
    EXPECT_EQ(h, expected.h_n);
    EXPECT_EQ(c, expected.c_n);
  }
}

// A layer's weights a few times larger than L2 (1.3 MB here in f32, for
// any L2 from 256 KiB to 2 MiB; 0.65 MB in bfloat16, for L2 up to 1 MiB,
// on AVX-512) make a one-thread step walk its panels pair by pair, each step in
// the opposite order to the one before; an odd number of panels (13 of 16
// units, 25 of 8) leaves one alone at an end. The walk must not change a bit.
TEST_P(StreamOnTarget, StepsWalkingPanelPairsMatchForwardBitwise) {
  ModelConfig config;
  config.input_size = 197;
  config.hidden_size = 197;
  for (WeightPrecision precision :
       {WeightPrecision::kF32, WeightPrecision::kBF16}) {
    Model model(config, InitOptions{6});
    model.set_threads(1);
    model.set_weight_precision(precision);
    const int steps = 5, in = 197;
    const std::vector<float> x = RandomVector(steps * in, 9);
    const Output expected = model.Forward({steps, 1, x, {}, {}, {}});
    Stream stream(model);
    std::vector<float> y(steps * in);
    for (int t = 0; t < steps; ++t) {
      stream.Step({x.data() + t * in, static_cast<size_t>(in)},
                  {y.data() + t * in, static_cast<size_t>(in)});
    }
    EXPECT_EQ(y, expected.y) << (precision == WeightPrecision::kBF16);
    std::vector<float> h(stream.state_size()), c(stream.state_size());
    stream.GetState(h, c);
    EXPECT_EQ(c, expected.c_n);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, StreamOnTarget,
                         ::testing::ValuesIn(AvailableTargets()));

// A projected model streams too: h = W_hr r in a second phase per layer.
TEST_P(StreamOnTarget, ProjectedStepsMatchForwardBitwise) {
  ModelConfig config = Config(3, OutputActivation::kIdentity);
  config.proj_size = 7;
  for (WeightPrecision precision :
       {WeightPrecision::kF32, WeightPrecision::kBF16}) {
    Model model(config, InitOptions{4});
    model.set_weight_precision(precision);
    const int steps = 6;
    const std::vector<float> x = RandomVector(steps * 5, 12);
    const Output expected = model.Forward({steps, 1, x, {}, {}, {}});
    Stream stream(model);
    std::vector<float> y(steps * 3);
    stream.Chunk(steps, x, y);
    EXPECT_EQ(y, expected.y);
    std::vector<float> h(stream.h_state_size()), c(stream.state_size());
    EXPECT_EQ(h.size(), 2u * 7);
    EXPECT_EQ(c.size(), 2u * 19);
    stream.GetState(h, c);
    EXPECT_EQ(h, expected.h_n);
    EXPECT_EQ(c, expected.c_n);
  }
}

TEST(Stream, RejectsBidirectionalModels) {
  ModelConfig config = Config(0, OutputActivation::kIdentity);
  config.bidirectional = true;
  const Model model(config, InitOptions{1});
  try {
    Stream stream(model);
    ADD_FAILURE() << "a stream was made on a bidirectional model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unidirectional"), std::string::npos);
  }
}

TEST(Stream, ChunkEqualsStepsAndStateRoundTrips) {
  const Model model(Config(2, OutputActivation::kIdentity), InitOptions{4});
  const std::vector<float> x = RandomVector(12 * 5, 9);
  Stream a(model), b(model);
  std::vector<float> ya(12 * 2), yb(12 * 2);
  a.Chunk(12, x, ya);
  // b runs 5 steps, parks its state, is reset, restores and finishes.
  b.Chunk(5, {x.data(), 25}, {yb.data(), 10});
  std::vector<float> h(b.state_size()), c(b.state_size());
  b.GetState(h, c);
  b.Reset();
  b.SetState(h, c);
  b.Chunk(7, {x.data() + 25, 35}, {yb.data() + 10, 14});
  EXPECT_EQ(ya, yb);
  // After Reset the stream starts over.
  b.Reset();
  std::vector<float> first(2);
  b.Step({x.data(), 5}, first);
  EXPECT_EQ(first[0], ya[0]);
  EXPECT_EQ(first[1], ya[1]);
}

// A model big enough that streams step on several threads.
ModelConfig LargeConfig() {
  ModelConfig config;
  config.input_size = 200;
  config.hidden_size = 150;
  config.num_layers = 2;
  config.output_size = 37;
  return config;
}

// Heap allocations made by one round of every call a stream offers.
long AllocationsOfOneRound(const Model& model, Stream& stream) {
  const int in = model.config().input_size, out = model.output_width();
  const std::vector<float> x = RandomVector(4 * in, 10);
  std::vector<float> y(4 * out), h(stream.state_size()), c(stream.state_size());
  // A model on one thread runs everything on this one; oneTBB workers that
  // other tests woke may still be starting, and allocating as they start.
  g_watched_thread = model.threads() == 1 ? ThisThread() : nullptr;
  g_allocations = 0;
  g_counting = true;
  stream.Step({x.data(), static_cast<size_t>(in)},
              {y.data(), static_cast<size_t>(out)});
  stream.Chunk(4, x, y);
  stream.GetState(h, c);
  stream.SetState(h, c);
  stream.Reset();
  g_counting = false;
  g_watched_thread = nullptr;
  return g_allocations.load();
}

// Up to `warm_up` rounds may allocate, then one must not: oneTBB sets up a
// worker's task pool the first time that worker joins the arena, which may
// be in any of the first rounds, or in none of them when the calling
// thread finishes every slice first.
void ExpectNoAllocationWhileStepping(const Model& model, int warm_up) {
  Stream stream(model);
  long allocations = AllocationsOfOneRound(model, stream);
  for (int round = 0; round < warm_up && allocations > 0; ++round) {
    allocations = AllocationsOfOneRound(model, stream);
  }
  EXPECT_EQ(allocations, 0);
}

// The counters themselves must see an allocation, or the tests below prove
// nothing.
TEST(Stream, AllocationCountersWork) {
  g_allocations = 0;
  g_counting = true;
  std::vector<int>* v = new std::vector<int>(100);
  void* raw = std::malloc(64);
  g_counting = false;
  std::free(raw);
  delete v;
#ifdef LSTMKIT_COUNT_MALLOC
  EXPECT_GE(g_allocations.load(), 3);
#else
  EXPECT_GE(g_allocations.load(), 2);
#endif
}

TEST(Stream, StepAndChunkNeverAllocate) {
  Model model(Config(3, OutputActivation::kSoftmax), InitOptions{5});
  model.set_threads(1);
  ExpectNoAllocationWhileStepping(model, /*warm_up=*/0);
}

TEST(Stream, ParallelStepsNeverAllocateOnceWarm) {
  Model model(LargeConfig(), InitOptions{5});
  model.set_threads(2);
  ExpectNoAllocationWhileStepping(model, /*warm_up=*/20);
}

// Streams slice hidden units across threads; the bits must not change.
// Without a head each slice copies its own units of the output row.
TEST(Stream, ParallelStepsAreBitwiseTheSameForEveryThreadCount) {
  for (int head : {37, 0}) {
    ModelConfig config = LargeConfig();
    config.output_size = head;
    Model model(config, InitOptions{7});
    const int steps = 6, in = 200;
    const size_t out = model.output_width();
    const std::vector<float> x = RandomVector(steps * in, 11);
    model.set_threads(1);
    const Output expected = model.Forward({steps, 1, x, {}, {}, {}});
    for (int threads : {1, 2, 3, 4, 7}) {
      model.set_threads(threads);
      Stream stream(model);
      std::vector<float> y(steps * out);
      stream.Chunk(2, {x.data(), 2 * 200}, {y.data(), 2 * out});
      for (int t = 2; t < steps; ++t) {
        stream.Step({x.data() + t * in, 200}, {y.data() + t * out, out});
      }
      EXPECT_EQ(y, expected.y) << threads << " threads, head " << head;
    }
  }
}

TEST(Stream, RejectsWrongSizes) {
  const Model model(Config(3, OutputActivation::kIdentity), InitOptions{5});
  Stream stream(model);
  std::vector<float> x(4), y(3), h(1), c(1);
  EXPECT_THROW(stream.Step(x, y), Error);
  x.resize(5);
  y.resize(2);
  EXPECT_THROW(stream.Step(x, y), Error);
  EXPECT_THROW(stream.Chunk(0, x, y), Error);
  EXPECT_THROW(stream.GetState(h, c), Error);
  EXPECT_THROW(stream.SetState(h, c), Error);
}

// Many streams share one model: each must see exactly what it sees alone.
TEST(Stream, ConcurrentStreamsOnOneModelMatchSerialRuns) {
  const Model model(Config(3, OutputActivation::kIdentity), InitOptions{6});
  constexpr int kThreads = 16, kSteps = 40;
  std::vector<std::vector<float>> inputs, serial(kThreads), parallel(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    inputs.push_back(RandomVector(kSteps * 5, 100 + i));
    Stream s(model);
    serial[i].resize(kSteps * 3);
    s.Chunk(kSteps, inputs[i], serial[i]);
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Stream s(model);
      parallel[i].resize(kSteps * 3);
      for (int t = 0; t < kSteps; ++t) {
        s.Step({inputs[i].data() + t * 5, 5}, {parallel[i].data() + t * 3, 3});
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(serial[i], parallel[i]) << i;
}

}  // namespace
}  // namespace lstmkit
