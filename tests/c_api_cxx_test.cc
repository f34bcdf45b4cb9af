// The C API where a C program cannot reach: allocations that fail at every
// point of a call must come back as LSTMKIT_ERROR_OUT_OF_MEMORY (never as an
// exception or a crash), and stepping a stream must not allocate at all.
// Global operator new is replaced (counting_allocator.h) to count
// allocations and to fail on demand; each test starts with a model made,
// because oneTBB's one-time initialization spins forever after an allocation in
// it has failed. Loading and saving are left out: nlohmann::json's destructor
// allocates, so a failed allocation while a file's JSON header unwinds ends in
// std::terminate. tests/c_api_test.c covers everything else, from C.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "counting_allocator.h"
#include "lstmkit/lstmkit.h"

using lstmkit::testing::g_allocations;
using lstmkit::testing::g_allocations_left;
using lstmkit::testing::g_counting;
using lstmkit::testing::g_watched_thread;
using lstmkit::testing::ThisThread;

namespace {

constexpr int kInput = 4, kHidden = 9, kLayers = 2, kOutput = 3, kSteps = 4;

lstmkit_model_config Config() {
  lstmkit_model_config config;
  std::memset(&config, 0, sizeof config);
  config.struct_size = sizeof config;
  config.input_size = kInput;
  config.hidden_size = kHidden;
  config.num_layers = kLayers;
  config.output_size = kOutput;
  config.num_threads = 1;
  return config;
}

// Calls `call` with the first, second, third, ... allocation failing, until
// it makes all of its allocations and succeeds. Every failing call must
// report LSTMKIT_ERROR_OUT_OF_MEMORY; `cleanup` runs after each call. The
// models here run on the calling thread (num_threads = 1), so only its
// allocations fail: a oneTBB worker that other tests woke may still be
// starting, and a worker that cannot start ends the process.
template <typename Call, typename Cleanup>
void ExpectOutOfMemoryAtEveryAllocation(const char* name, Call call,
                                        Cleanup cleanup) {
  for (long allowed = 0;; ++allowed) {
    ASSERT_LT(allowed, 100000) << name << " never succeeded";
    g_watched_thread = ThisThread();
    g_allocations_left = allowed;
    const lstmkit_status status = call();
    g_allocations_left = -1;
    g_watched_thread = nullptr;
    cleanup();
    if (status == LSTMKIT_OK) {
      EXPECT_GT(allowed, 0) << name << " allocated nothing";
      return;
    }
    ASSERT_EQ(status, LSTMKIT_ERROR_OUT_OF_MEMORY)
        << name << " with " << allowed
        << " allocations allowed: " << lstmkit_last_error();
    ASSERT_NE(std::strstr(lstmkit_last_error(), name), nullptr)
        << lstmkit_last_error();
  }
}

class CApiWithModel : public ::testing::Test {
 protected:
  void SetUp() override {
    const lstmkit_model_config config = Config();
    ASSERT_EQ(lstmkit_model_create(&config, 5, &model_), LSTMKIT_OK)
        << lstmkit_last_error();
  }
  void TearDown() override { lstmkit_model_free(model_); }

  lstmkit_model* model_ = nullptr;
};

TEST_F(CApiWithModel, OutOfMemoryInModelCreate) {
  const lstmkit_model_config config = Config();
  lstmkit_model* model = nullptr;
  ExpectOutOfMemoryAtEveryAllocation(
      "lstmkit_model_create",
      [&] { return lstmkit_model_create(&config, 1, &model); },
      [&] {
        lstmkit_model_free(model);
        model = nullptr;
      });
}

TEST_F(CApiWithModel, OutOfMemoryInForwardAndStreamCreate) {
  std::vector<float> x(kSteps * 2 * kInput, 0.25f), y(kSteps * 2 * kOutput);
  ExpectOutOfMemoryAtEveryAllocation(
      "lstmkit_model_forward",
      [&] {
        return lstmkit_model_forward(model_, x.data(), kSteps, 2, y.data());
      },
      [] {});
  lstmkit_stream* stream = nullptr;
  ExpectOutOfMemoryAtEveryAllocation(
      "lstmkit_stream_create",
      [&] { return lstmkit_stream_create(model_, &stream); },
      [&] {
        lstmkit_stream_free(stream);
        stream = nullptr;
      });
}

TEST_F(CApiWithModel, OutOfMemoryInParameterCalls) {
  std::vector<float> values(4 * kHidden * kInput, 0.5f);
  ExpectOutOfMemoryAtEveryAllocation(
      "lstmkit_model_set_parameter",
      [&] {
        return lstmkit_model_set_parameter(model_, "weight_ih_l0",
                                           values.data(), values.size());
      },
      [] {});
  int32_t rank = 0;
  int64_t dims[LSTMKIT_MAX_RANK];
  size_t count = 0;
  ExpectOutOfMemoryAtEveryAllocation(
      "lstmkit_model_parameter_shape",
      [&] {
        return lstmkit_model_parameter_shape(model_, "weight_hh_l1", &rank,
                                             dims, &count);
      },
      [] {});
  EXPECT_EQ(count, static_cast<size_t>(4 * kHidden * kHidden));
}

// Heap allocations made by one round of every call a stream offers, on
// the calling thread alone or on any thread.
long AllocationsOfOneRound(lstmkit_stream* stream, bool this_thread_only) {
  size_t h_size = 0, c_size = 0;
  EXPECT_EQ(lstmkit_stream_state_size(stream, &h_size, &c_size), LSTMKIT_OK);
  std::vector<float> x(kSteps * kInput, 0.5f), y(kSteps * kOutput);
  std::vector<float> h(h_size), c(c_size);
  g_watched_thread = this_thread_only ? ThisThread() : nullptr;
  g_allocations = 0;
  g_counting = true;
  EXPECT_EQ(lstmkit_stream_step(stream, x.data(), y.data()), LSTMKIT_OK);
  EXPECT_EQ(lstmkit_stream_chunk(stream, kSteps, x.data(), y.data()),
            LSTMKIT_OK);
  EXPECT_EQ(
      lstmkit_stream_get_state(stream, h.data(), h_size, c.data(), c_size),
      LSTMKIT_OK);
  EXPECT_EQ(
      lstmkit_stream_set_state(stream, h.data(), h_size, c.data(), c_size),
      LSTMKIT_OK);
  EXPECT_EQ(lstmkit_stream_reset(stream), LSTMKIT_OK);
  g_counting = false;
  g_watched_thread = nullptr;
  return g_allocations.load();
}

// After it is created, a stream never touches the heap, through the C API
// as through the C++ one. On one thread everything runs on the caller, and
// the first round must not allocate. On all cores, oneTBB sets up each
// worker's task pool the first time that worker joins the arena, in any of
// the first rounds: up to 20 rounds may allocate, then one must not.
TEST_F(CApiWithModel, StreamCallsDoNotAllocate) {
  for (int threads : {1, 0}) {
    ASSERT_EQ(lstmkit_model_set_threads(model_, threads), LSTMKIT_OK);
    lstmkit_stream* stream = nullptr;
    ASSERT_EQ(lstmkit_stream_create(model_, &stream), LSTMKIT_OK);
    const int warm_up = threads == 1 ? 0 : 20;
    long allocations = AllocationsOfOneRound(stream, threads == 1);
    for (int round = 0; round < warm_up && allocations > 0; ++round) {
      allocations = AllocationsOfOneRound(stream, threads == 1);
    }
    EXPECT_EQ(allocations, 0) << threads << " threads";
    lstmkit_stream_free(stream);
  }
}

// Messages longer than the message buffer are cut, not overflowed.
TEST(CApiErrors, LongMessagesAreTruncated) {
  const std::string path = "/nonexistent/" + std::string(5000, 'a');
  lstmkit_model* model = nullptr;
  EXPECT_EQ(lstmkit_model_load(path.c_str(), &model), LSTMKIT_ERROR_IO);
  EXPECT_EQ(model, nullptr);
  const std::string message = lstmkit_last_error();
  EXPECT_EQ(
      message.rfind("lstmkit_model_load: cannot open /nonexistent/aaa", 0), 0u)
      << message;
  EXPECT_GT(message.size(), 1000u);
  EXPECT_LT(message.size(), path.size());
}

}  // namespace
