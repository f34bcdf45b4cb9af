// Checkpoints: a run stopped after any batch and resumed from its checkpoint
// (in a new process's worth of objects: a new Model with other initial
// values and a new Trainer) ends with bitwise the parameters and epoch
// reports of a run that was never interrupted. A process killed in the
// middle of a save leaves the previous checkpoint loadable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "atomic_file.h"
#include "file_test_util.h"
#include "lstmkit/lstmkit.hpp"
#include "test_util.h"

namespace lstmkit {
namespace {

using testing::Parameters;
using testing::ReadBytes;
using testing::TempDirectory;
using testing::ThrowsError;

// I = 3, H = 8, L = 2, O = 2 on every step.
ModelConfig TaskConfig() {
  ModelConfig config;
  config.input_size = 3;
  config.hidden_size = 8;
  config.num_layers = 2;
  config.output_size = 2;
  return config;
}

// N = 10 sequences of T = 4 steps: with batches of 3, an epoch is 4 batches
// and the last one is short.
Dataset TaskData(uint64_t seed, int n = 10) {
  Dataset data;
  data.num_samples = n;
  data.seq_len = 4;
  data.inputs = testing::RandomVector(static_cast<size_t>(n) * 4 * 3, seed);
  data.targets =
      testing::RandomVector(static_cast<size_t>(n) * 4 * 2, seed + 1);
  return data;
}

constexpr int kEpochs = 3;
constexpr int kBatchesPerEpoch = 4;
constexpr int kTotalBatches = kEpochs * kBatchesPerEpoch;

TrainerConfig TaskTraining(OptimizerConfig::Kind kind) {
  TrainerConfig config;
  config.epochs = kEpochs;
  config.batch_size = 3;
  config.seed = 99;
  config.shuffle = true;
  config.clip_norm = 1.0f;
  config.optimizer.kind = kind;
  config.optimizer.learning_rate = 0.05f;
  config.optimizer.momentum = 0.9f;  // used by SGD only
  config.optimizer.weight_decay = 0.001f;
  return config;
}

struct TrainingRun {
  std::vector<float> parameters;
  std::vector<EpochReport> reports;
};

TrainingRun Uninterrupted(OptimizerConfig::Kind kind, int fits = 1) {
  Model model(TaskConfig(), InitOptions{1});
  Trainer trainer(&model, TaskTraining(kind));
  const Dataset train = TaskData(10);
  const Dataset validation = TaskData(20, 5);
  TrainingRun run;
  for (int i = 0; i < fits; ++i) {
    const std::vector<EpochReport> reports = trainer.Fit(train, &validation);
    run.reports.insert(run.reports.end(), reports.begin(), reports.end());
  }
  run.parameters = Parameters(model);
  return run;
}

// Losses must agree bitwise; the timings cannot.
void ExpectSameReports(const std::vector<EpochReport>& actual,
                       const std::vector<EpochReport>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].epoch, expected[i].epoch);
    EXPECT_EQ(actual[i].train_loss, expected[i].train_loss) << "epoch " << i;
    EXPECT_EQ(actual[i].validation_loss, expected[i].validation_loss);
  }
}

class CheckpointResume
    : public ::testing::TestWithParam<OptimizerConfig::Kind> {};

// Stops after `stop_after` batches, saving a checkpoint, then resumes from
// the file with new objects.
TEST_P(CheckpointResume, FromEveryBatchMatchesTheUninterruptedRun) {
  const TrainingRun expected = Uninterrupted(GetParam());
  const Dataset train = TaskData(10);
  const Dataset validation = TaskData(20, 5);
  TempDirectory dir;
  const std::string path = dir.File("run.ckpt");
  for (int stop_after = 1; stop_after <= kTotalBatches; ++stop_after) {
    SCOPED_TRACE("stopped after batch " + std::to_string(stop_after));
    Model model(TaskConfig(), InitOptions{1});
    TrainerConfig config = TaskTraining(GetParam());
    int batches = 0;
    config.should_stop = [&] { return ++batches == stop_after; };
    config.checkpoint_path = path;
    Trainer trainer(&model, config);
    const std::vector<EpochReport> before = trainer.Fit(train, &validation);
    ASSERT_TRUE(trainer.stopped());
    const TrainingPosition stopped_at = trainer.position();
    EXPECT_EQ(stopped_at.epoch, (stop_after - 1) / kBatchesPerEpoch + 1);
    EXPECT_EQ(stopped_at.batch, (stop_after - 1) % kBatchesPerEpoch + 1);
    EXPECT_EQ(stopped_at.steps, stop_after);

    Model resumed(TaskConfig(), InitOptions{12345});
    Trainer fresh(&resumed, TaskTraining(GetParam()));
    fresh.LoadCheckpoint(path);
    EXPECT_EQ(Parameters(resumed), Parameters(model));
    EXPECT_EQ(fresh.position().epoch, stopped_at.epoch);
    EXPECT_EQ(fresh.position().batch, stopped_at.batch);
    EXPECT_EQ(fresh.position().steps, stopped_at.steps);
    std::vector<EpochReport> reports = before;
    const std::vector<EpochReport> after = fresh.Fit(train, &validation);
    EXPECT_FALSE(fresh.stopped());
    reports.insert(reports.end(), after.begin(), after.end());
    EXPECT_EQ(Parameters(resumed), expected.parameters);
    ExpectSameReports(reports, expected.reports);
    EXPECT_EQ(fresh.position().epoch, 0);
    EXPECT_EQ(fresh.position().steps, kTotalBatches);
  }
}

// A stopped Fit continues in the same Trainer, too, however often it stops.
TEST_P(CheckpointResume, RepeatedStopsInOneTrainerMatch) {
  const TrainingRun expected = Uninterrupted(GetParam());
  Model model(TaskConfig(), InitOptions{1});
  TrainerConfig config = TaskTraining(GetParam());
  int batches = 0;
  config.should_stop = [&] { return ++batches % 2 == 1; };
  Trainer trainer(&model, config);
  const Dataset train = TaskData(10);
  const Dataset validation = TaskData(20, 5);
  std::vector<EpochReport> reports;
  int fits = 0;
  do {
    const std::vector<EpochReport> part = trainer.Fit(train, &validation);
    reports.insert(reports.end(), part.begin(), part.end());
    ASSERT_LE(++fits, kTotalBatches + 1);
  } while (trainer.stopped());
  EXPECT_EQ(fits, kTotalBatches / 2 + 1);
  EXPECT_EQ(Parameters(model), expected.parameters);
  ExpectSameReports(reports, expected.reports);
}

// Checkpoints on a schedule: the one saved after step 5 resumes exactly, and
// the one Fit saves when it finishes carries the shuffling state into the
// next run.
TEST_P(CheckpointResume, ScheduledAndFinalCheckpointsResume) {
  const TrainingRun expected_one = Uninterrupted(GetParam());
  const TrainingRun expected_two = Uninterrupted(GetParam(), 2);
  const Dataset train = TaskData(10);
  const Dataset validation = TaskData(20, 5);
  TempDirectory dir;
  const std::string path = dir.File("scheduled.ckpt");
  const std::string copy = dir.File("after_step_5.ckpt");
  Model model(TaskConfig(), InitOptions{1});
  TrainerConfig config = TaskTraining(GetParam());
  config.checkpoint_path = path;
  config.checkpoint_every = 5;
  Trainer* self = nullptr;
  config.should_stop = [&] {
    // Asked after step 6, before that step's save: the file is step 5's.
    if (self->position().steps == 6) {
      const std::vector<uint8_t> bytes = ReadBytes(path);
      testing::WriteBytes(copy, bytes);
    }
    return false;
  };
  Trainer trainer(&model, config);
  self = &trainer;
  trainer.Fit(train, &validation);
  EXPECT_EQ(Parameters(model), expected_one.parameters);

  {
    Model resumed(TaskConfig(), InitOptions{7});
    Trainer fresh(&resumed, TaskTraining(GetParam()));
    fresh.LoadCheckpoint(copy);
    EXPECT_EQ(fresh.position().steps, 5);
    EXPECT_EQ(fresh.position().epoch, 2);
    EXPECT_EQ(fresh.position().batch, 1);
    fresh.Fit(train, &validation);
    EXPECT_EQ(Parameters(resumed), expected_one.parameters);
  }
  {
    Model resumed(TaskConfig(), InitOptions{7});
    Trainer fresh(&resumed, TaskTraining(GetParam()));
    fresh.LoadCheckpoint(path);
    EXPECT_EQ(fresh.position().epoch, 0);
    EXPECT_EQ(fresh.position().steps, kTotalBatches);
    EXPECT_EQ(Parameters(resumed), expected_one.parameters);
    const std::vector<EpochReport> second = fresh.Fit(train, &validation);
    EXPECT_EQ(Parameters(resumed), expected_two.parameters);
    ExpectSameReports(
        second, std::vector<EpochReport>(expected_two.reports.begin() + kEpochs,
                                         expected_two.reports.end()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Optimizers, CheckpointResume,
    ::testing::Values(OptimizerConfig::Kind::kAdam,
                      OptimizerConfig::Kind::kSgd),
    [](const ::testing::TestParamInfo<OptimizerConfig::Kind>& info) {
      return info.param == OptimizerConfig::Kind::kAdam ? "Adam" : "Sgd";
    });

// A model with every nn.LSTM option, dropout included (its masks must come
// back with the position), resumes bitwise from a checkpoint taken in the
// middle of an epoch.
TEST(Checkpoint, ModelWithEveryOptionResumesBitwise) {
  ModelConfig config = TaskConfig();
  config.bidirectional = true;
  config.proj_size = 5;
  config.dropout = 0.25f;
  config.batch_first = true;
  const Dataset train = TaskData(10);
  const TrainerConfig training = TaskTraining(OptimizerConfig::Kind::kAdam);
  Model uninterrupted(config, InitOptions{1});
  Trainer(&uninterrupted, training).Fit(train);

  TempDirectory dir;
  const std::string path = dir.File("run.ckpt");
  Model stopped(config, InitOptions{1});
  TrainerConfig stopping = training;
  int batches = 0;
  stopping.should_stop = [&] { return ++batches == 6; };
  stopping.checkpoint_path = path;
  Trainer first(&stopped, stopping);
  first.Fit(train);
  ASSERT_TRUE(first.stopped());
  EXPECT_NE(Parameters(stopped), Parameters(uninterrupted));

  Model resumed(config, InitOptions{77});
  Trainer fresh(&resumed, training);
  fresh.LoadCheckpoint(path);
  const ModelConfig loaded = LoadModel(path).config();
  EXPECT_TRUE(loaded.bidirectional);
  EXPECT_EQ(loaded.proj_size, 5);
  EXPECT_EQ(loaded.dropout, 0.25f);
  EXPECT_TRUE(loaded.batch_first);
  fresh.Fit(train);
  EXPECT_EQ(Parameters(resumed), Parameters(uninterrupted));
}

TEST(Checkpoint, IsAModelFileWithItsMetadata) {
  Model model(TaskConfig(), InitOptions{1});
  TrainerConfig config = TaskTraining(OptimizerConfig::Kind::kAdam);
  config.should_stop = [] { return true; };
  Trainer trainer(&model, config);
  trainer.Fit(TaskData(10));
  TempDirectory dir;
  const std::string path = dir.File("run.ckpt");
  const FileMetadata metadata = {{"mean", "0.5"}, {"std", "2"}};
  trainer.SaveCheckpoint(path, metadata);

  FileMetadata model_metadata;
  EXPECT_EQ(Parameters(LoadModel(path, &model_metadata)), Parameters(model));
  EXPECT_EQ(model_metadata, metadata);
  const ModelFileInfo info = InspectModelFile(path);
  EXPECT_TRUE(info.is_checkpoint);
  EXPECT_EQ(info.checksum, ChecksumState::kVerified);
  const std::string text = DescribeModelFile(path);
  for (const char* part :
       {"lstmkit checkpoint", "optimizer adam after 1 steps", "batch size 3",
        "epoch 1, 1 batches done", "optimizer.second.head.bias",
        "trainer.order", "I64", "[10]"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }

  Model other(TaskConfig(), InitOptions{2});
  Trainer fresh(&other, TaskTraining(OptimizerConfig::Kind::kAdam));
  FileMetadata loaded_metadata;
  fresh.LoadCheckpoint(path, &loaded_metadata);
  EXPECT_EQ(loaded_metadata, metadata);

  // A damaged training state still leaves the rest of the description.
  {
    std::vector<uint8_t> bytes = ReadBytes(path);
    uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = length << 8 | bytes[i];
    nlohmann::json header =
        nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + length);
    header["__metadata__"]["lstmkit.trainer"] = "{\"batch_size\":";
    const std::string text = header.dump();
    std::vector<uint8_t> damaged(8);
    for (int i = 0; i < 8; ++i) {
      damaged[i] = static_cast<uint8_t>(uint64_t{text.size()} >> 8 * i);
    }
    damaged.insert(damaged.end(), text.begin(), text.end());
    damaged.insert(damaged.end(), bytes.begin() + 8 + length, bytes.end());
    const std::string damaged_path = dir.File("damaged.ckpt");
    testing::WriteBytes(damaged_path, damaged);
    const std::string description = DescribeModelFile(damaged_path);
    EXPECT_NE(description.find("training: unreadable"), std::string::npos)
        << description;
    EXPECT_NE(description.find("weight_ih_l0"), std::string::npos);
    EXPECT_TRUE(ThrowsError([&] { fresh.LoadCheckpoint(damaged_path); },
                            {"lstmkit.trainer", "not valid JSON"}));
  }

  // A model file is not a checkpoint.
  const std::string model_path = dir.File("model.safetensors");
  SaveModel(model, model_path);
  EXPECT_TRUE(ThrowsError([&] { fresh.LoadCheckpoint(model_path); },
                          {model_path, "not a checkpoint"}));
}

TEST(Checkpoint, LoadRejectsWhatDoesNotFitAndChangesNothing) {
  Model model(TaskConfig(), InitOptions{1});
  TrainerConfig config = TaskTraining(OptimizerConfig::Kind::kAdam);
  int batches = 0;
  config.should_stop = [&] { return ++batches == 6; };
  Trainer trainer(&model, config);
  trainer.Fit(TaskData(10));
  TempDirectory dir;
  const std::string path = dir.File("run.ckpt");
  trainer.SaveCheckpoint(path);

  auto expect_rejected = [&](Model* target, const TrainerConfig& tc,
                             const std::vector<std::string>& parts) {
    const std::vector<float> before = Parameters(*target);
    Trainer other(target, tc);
    EXPECT_TRUE(ThrowsError([&] { other.LoadCheckpoint(path); }, parts));
    EXPECT_EQ(Parameters(*target), before);
    EXPECT_EQ(other.position().steps, 0);
    EXPECT_EQ(other.position().epoch, 0);
  };
  ModelConfig wider = TaskConfig();
  wider.hidden_size = 9;
  Model wide(wider, InitOptions{1});
  expect_rejected(&wide, TaskTraining(OptimizerConfig::Kind::kAdam),
                  {path, "hidden_size 8", "hidden_size 9"});
  ModelConfig softmax = TaskConfig();
  softmax.output_activation = OutputActivation::kSoftmax;
  Model classifier(softmax, InitOptions{1});
  expect_rejected(&classifier, TaskTraining(OptimizerConfig::Kind::kAdam),
                  {"output_activation softmax"});
  // Every nn.LSTM option is part of the model: a checkpoint resumes only
  // the same one.
  ModelConfig bidirectional = TaskConfig();
  bidirectional.bidirectional = true;
  Model two_way(bidirectional, InitOptions{1});
  expect_rejected(&two_way, TaskTraining(OptimizerConfig::Kind::kAdam),
                  {"bidirectional false", "bidirectional true"});
  ModelConfig projected = TaskConfig();
  projected.proj_size = 3;
  Model lstmp(projected, InitOptions{1});
  expect_rejected(&lstmp, TaskTraining(OptimizerConfig::Kind::kAdam),
                  {"proj_size 0", "proj_size 3"});
  ModelConfig dropout = TaskConfig();
  dropout.dropout = 0.5f;
  Model dropping(dropout, InitOptions{1});
  expect_rejected(&dropping, TaskTraining(OptimizerConfig::Kind::kAdam),
                  {"dropout 0,", "dropout 0.5"});
  ModelConfig batch_first = TaskConfig();
  batch_first.batch_first = true;
  Model batch_major(batch_first, InitOptions{1});
  expect_rejected(&batch_major, TaskTraining(OptimizerConfig::Kind::kAdam),
                  {"batch_first false", "batch_first true"});
  Model same(TaskConfig(), InitOptions{3});
  expect_rejected(&same, TaskTraining(OptimizerConfig::Kind::kSgd),
                  {"optimizer is adam", "this trainer's sgd"});
  TrainerConfig batch4 = TaskTraining(OptimizerConfig::Kind::kAdam);
  batch4.batch_size = 4;
  expect_rejected(&same, batch4, {"batch_size 3", "has 4"});
  TrainerConfig one_epoch = TaskTraining(OptimizerConfig::Kind::kAdam);
  one_epoch.epochs = 1;
  expect_rejected(&same, one_epoch, {"epoch 2", "config.epochs = 1"});

  // The checkpoint's position fits a training set of 10 samples only.
  Trainer fresh(&same, TaskTraining(OptimizerConfig::Kind::kAdam));
  fresh.LoadCheckpoint(path);
  EXPECT_TRUE(ThrowsError(
      [&] { fresh.Fit(TaskData(10, 11)); },
      {"train.num_samples must be 10", "got 11", "epoch 2", "batch 2"}));

  // A damaged byte anywhere in the data is caught by the checksum.
  std::vector<uint8_t> bytes = ReadBytes(path);
  bytes[bytes.size() - 3] ^= 0x40;
  testing::WriteBytes(path, bytes);
  expect_rejected(&same, TaskTraining(OptimizerConfig::Kind::kAdam),
                  {"checksum mismatch"});
}

TEST(Checkpoint, ConfigChecksAndOptimizerStateValidation) {
  Model model(TaskConfig(), InitOptions{1});
  TrainerConfig config;
  config.checkpoint_every = -1;
  EXPECT_TRUE(ThrowsError([&] { Trainer t(&model, config); },
                          {"config.checkpoint_every", ">= 0", "got -1"}));
  config.checkpoint_every = 5;
  EXPECT_TRUE(ThrowsError([&] { Trainer t(&model, config); },
                          {"config.checkpoint_path"}));

  OptimizerConfig adam;
  Optimizer optimizer(adam);
  OptimizerState state;
  state.steps = -1;
  EXPECT_TRUE(ThrowsError([&] { optimizer.set_state(state); },
                          {"state.steps", ">= 0"}));
  state.steps = 0;
  state.first = {1.0f};
  EXPECT_TRUE(ThrowsError([&] { optimizer.set_state(state); },
                          {"must be empty before the first step"}));
  state.steps = 3;
  state.first = {1.0f, 2.0f};
  state.second = {1.0f};
  EXPECT_TRUE(ThrowsError([&] { optimizer.set_state(state); },
                          {"state.second must hold 2 values"}));
  state.second = {1.0f, std::numeric_limits<float>::infinity()};
  EXPECT_TRUE(ThrowsError([&] { optimizer.set_state(state); }, {"non-finite"}));
  state.second = {1.0f, 2.0f};
  optimizer.set_state(state);
  EXPECT_EQ(optimizer.steps(), 3);
  EXPECT_EQ(optimizer.state().second, state.second);
  OptimizerConfig sgd;
  sgd.kind = OptimizerConfig::Kind::kSgd;
  Optimizer plain(sgd);
  EXPECT_TRUE(ThrowsError([&] { plain.set_state(state); }, {"SGD keeps none"}));
}

// ---- Killed in the middle of a save -----------------------------------------

// H = 128: a checkpoint of about 2.4 MB, written in several chunks.
ModelConfig LargeConfig() {
  ModelConfig config;
  config.input_size = 8;
  config.hidden_size = 128;
  config.num_layers = 2;
  config.output_size = 1;
  return config;
}

Dataset LargeData() {
  Dataset data;
  data.num_samples = 4;
  data.seq_len = 3;
  data.inputs = testing::RandomVector(4 * 3 * 8, 5);
  data.targets = testing::RandomVector(4 * 3, 6);
  return data;
}

// Two trainers of the same model, one and two steps in.
struct TwoStates {
  Model first_model{LargeConfig(), InitOptions{1}};
  Model second_model{LargeConfig(), InitOptions{1}};
  std::unique_ptr<Trainer> first;
  std::unique_ptr<Trainer> second;

  TwoStates() {
    first_model.set_threads(1);
    second_model.set_threads(1);
    TrainerConfig config;
    config.epochs = 1;
    config.batch_size = 2;
    int batches = 0;
    config.should_stop = [&batches] { return ++batches == 1; };
    first = std::make_unique<Trainer>(&first_model, config);
    first->Fit(LargeData());
    config.should_stop = {};
    second = std::make_unique<Trainer>(&second_model, config);
    second->Fit(LargeData());
  }
};

void KillSelfMidWrite(const std::string&, size_t written, size_t total) {
  if (written < total) ::raise(SIGKILL);
}

// Runs `child` in a forked process and waits for it; true if SIGKILL ended
// it. The child only serializes and writes: no compute, so no threads are
// needed after the fork.
template <typename Child>
bool RunKilledChild(Child&& child, int kill_after_ms = -1) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    child();
    ::_exit(0);
  }
  if (pid < 0) return false;
  if (kill_after_ms >= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

TEST(CheckpointCrash, KilledInTheMiddleOfASaveLeavesThePreviousOne) {
  TwoStates states;
  TempDirectory dir;
  const std::string path = dir.File("run.ckpt");
  states.first->SaveCheckpoint(path);
  const std::vector<uint8_t> previous = ReadBytes(path);
  ASSERT_GT(previous.size(), size_t{2} << 20);

  // The child dies after writing the first megabyte of the new checkpoint.
  ASSERT_TRUE(RunKilledChild([&] {
    internal::SetAtomicWriteHookForTesting(KillSelfMidWrite);
    states.second->SaveCheckpoint(path);
  }));
  // Its half-written temporary file is there, and the checkpoint is the
  // previous one, byte for byte.
  std::vector<std::string> files = dir.Files();
  ASSERT_EQ(files.size(), 2u);
  const std::string temporary = files[0] == "run.ckpt" ? files[1] : files[0];
  EXPECT_EQ(temporary.rfind(".run.ckpt.tmp-", 0), 0u) << temporary;
  EXPECT_LT(ReadBytes(dir.File(temporary)).size(), previous.size());
  EXPECT_EQ(ReadBytes(path), previous);

  Model model(LargeConfig(), InitOptions{3});
  TrainerConfig config;
  config.epochs = 1;
  config.batch_size = 2;
  Trainer trainer(&model, config);
  trainer.LoadCheckpoint(path);
  EXPECT_EQ(Parameters(model), Parameters(states.first_model));
  EXPECT_EQ(trainer.position().steps, 1);
}

// A child saves two states in turns as fast as it can and is killed at
// random moments; each time, the file holds one of the two states whole.
TEST(CheckpointCrash, KilledAtRandomMomentsTheFileIsAlwaysWhole) {
  TwoStates states;
  TempDirectory dir;
  const std::string path = dir.File("run.ckpt");
  states.first->SaveCheckpoint(path);
  std::mt19937 random(2024);
  int left_temporary = 0;
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(RunKilledChild(
        [&] {
          for (;;) {
            states.second->SaveCheckpoint(path);
            states.first->SaveCheckpoint(path);
          }
        },
        5 + static_cast<int>(random() % 40)));
    for (const std::string& name : dir.Files()) {
      if (name != "run.ckpt") {
        ++left_temporary;
        std::remove(dir.File(name).c_str());
      }
    }
    Model model(LargeConfig(), InitOptions{3});
    TrainerConfig config;
    config.epochs = 1;
    config.batch_size = 2;
    Trainer trainer(&model, config);
    ASSERT_NO_THROW(trainer.LoadCheckpoint(path));
    const std::vector<float> loaded = Parameters(model);
    EXPECT_TRUE(loaded == Parameters(states.first_model) ||
                loaded == Parameters(states.second_model));
    EXPECT_EQ(trainer.position().steps,
              loaded == Parameters(states.first_model) ? 1 : 2);
  }
  std::printf("[checkpoint crash] %d of %d kills interrupted a write\n",
              left_temporary, kRounds);
}

}  // namespace
}  // namespace lstmkit
