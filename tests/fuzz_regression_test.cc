// Replays the fuzzer's seed corpus (tests/fuzz/corpus) and the inputs it
// once failed on (tests/fuzz/regressions) through the fuzzer's checks, in
// every test build, including the sanitized one. The corpus is also checked
// for what its names promise: valid_* files load, broken_* files are
// rejected (broken_checkpoint_* by the checkpoint reader).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "byte_source.h"
#include "checkpoint_file.h"
#include "file_test_util.h"
#include "fuzz/model_file_fuzz.h"
#include "lstmkit/lstmkit.hpp"

namespace lstmkit {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> InputsIn(const std::string& directory) {
  std::vector<fs::path> paths;
  for (const fs::directory_entry& entry : fs::directory_iterator(
           std::string(LSTMKIT_FUZZ_DIR) + "/" + directory)) {
    if (entry.is_regular_file() && entry.path().extension() != ".md") {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool ModelLoads(const std::vector<uint8_t>& bytes) {
  try {
    LoadModelFromBuffer(bytes);
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool CheckpointLoads(const std::vector<uint8_t>& bytes) {
  internal::MemorySource source(bytes.data(), bytes.size());
  try {
    internal::DecodeCheckpoint(source);
    return true;
  } catch (const Error&) {
    return false;
  }
}

TEST(FuzzCorpus, EveryInputPassesTheFuzzerChecks) {
  std::vector<fs::path> inputs = InputsIn("corpus");
  const std::vector<fs::path> regressions = InputsIn("regressions");
  inputs.insert(inputs.end(), regressions.begin(), regressions.end());
  ASSERT_GE(inputs.size(), 40u) << "regenerate with tools/make_fuzz_corpus.py";
  for (const fs::path& path : inputs) {
    SCOPED_TRACE(path.string());
    const std::vector<uint8_t> bytes = testing::ReadBytes(path.string());
    EXPECT_NO_THROW(fuzz::CheckModelFileInput(bytes.data(), bytes.size()));
  }
}

TEST(FuzzCorpus, ValidFilesLoadAndBrokenFilesAreRejected) {
  int valid = 0, broken = 0;
  for (const fs::path& path : InputsIn("corpus")) {
    SCOPED_TRACE(path.string());
    const std::string name = path.filename().string();
    const std::vector<uint8_t> bytes = testing::ReadBytes(path.string());
    if (StartsWith(name, "valid_checkpoint_")) {
      EXPECT_TRUE(CheckpointLoads(bytes));
      EXPECT_TRUE(ModelLoads(bytes));
      ++valid;
    } else if (StartsWith(name, "valid_")) {
      EXPECT_TRUE(ModelLoads(bytes));
      EXPECT_FALSE(CheckpointLoads(bytes));
      ++valid;
    } else if (StartsWith(name, "broken_checkpoint_")) {
      EXPECT_FALSE(CheckpointLoads(bytes));
      ++broken;
    } else {
      ASSERT_TRUE(StartsWith(name, "broken_")) << "unexpected name " << name;
      EXPECT_FALSE(ModelLoads(bytes));
      EXPECT_FALSE(CheckpointLoads(bytes));
      ++broken;
    }
  }
  EXPECT_GE(valid, 9);
  EXPECT_GE(broken, 30);
}

}  // namespace
}  // namespace lstmkit
