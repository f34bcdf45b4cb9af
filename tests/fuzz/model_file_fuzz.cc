#include "model_file_fuzz.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "byte_source.h"
#include "checkpoint_file.h"
#include "lstmkit/lstmkit.hpp"
#include "model_file.h"
#include "model_file_info.h"

namespace lstmkit::fuzz {

namespace {

[[noreturn]] void Broken(const char* invariant) {
  std::fprintf(stderr, "model file fuzzer: %s\n", invariant);
  std::abort();
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() ||
          std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

bool SameConfig(const ModelConfig& a, const ModelConfig& b) {
  return internal::DescribeConfig(a) == internal::DescribeConfig(b);
}

void CheckModel(internal::ByteSource& source) {
  internal::ModelFileHeader header;
  std::vector<float> parameters;
  try {
    header = internal::ReadModelFileHeader(source);
    parameters = internal::ReadModelParameters(source, header);
  } catch (const Error&) {
    return;
  }
  // Outside the try: an Error here is a bug, not a rejected input.
  const std::vector<uint8_t> again = internal::EncodeModelFile(
      header.config, parameters, internal::Dtype::kF32, header.extra_metadata);
  internal::MemorySource again_source(again.data(), again.size());
  const internal::ModelFileHeader again_header =
      internal::ReadModelFileHeader(again_source);
  if (!SameBits(internal::ReadModelParameters(again_source, again_header),
                parameters) ||
      !SameConfig(again_header.config, header.config) ||
      again_header.extra_metadata != header.extra_metadata) {
    Broken("a loaded model did not survive saving and loading");
  }
}

void CheckDescription(internal::ByteSource& source) {
  try {
    internal::DescribeModelFile(source);
  } catch (const Error&) {
  }
}

bool SameCheckpoint(const internal::CheckpointContents& a,
                    const internal::CheckpointContents& b) {
  const internal::TrainingProgress &p = a.progress, &q = b.progress;
  const bool same_position =
      p.in_run == q.in_run &&
      (!p.in_run || (p.epoch == q.epoch && p.next_batch == q.next_batch &&
                     p.order == q.order && p.rng_state == q.rng_state &&
                     p.loss_sum == q.loss_sum && p.weight_sum == q.weight_sum));
  return same_position && SameConfig(a.config, b.config) &&
         SameBits(a.parameters, b.parameters) &&
         a.optimizer_config.kind == b.optimizer_config.kind &&
         a.optimizer_state.steps == b.optimizer_state.steps &&
         SameBits(a.optimizer_state.first, b.optimizer_state.first) &&
         SameBits(a.optimizer_state.second, b.optimizer_state.second) &&
         a.batch_size == b.batch_size && a.shuffle_state == b.shuffle_state &&
         a.extra_metadata == b.extra_metadata;
}

void CheckCheckpoint(internal::ByteSource& source) {
  internal::CheckpointContents contents;
  try {
    contents = internal::DecodeCheckpoint(source);
  } catch (const Error&) {
    return;
  }
  const std::vector<uint8_t> again = internal::EncodeCheckpoint(contents);
  internal::MemorySource again_source(again.data(), again.size());
  if (!SameCheckpoint(internal::DecodeCheckpoint(again_source), contents)) {
    Broken("a loaded checkpoint did not survive saving and loading");
  }
}

}  // namespace

void CheckModelFileInput(const uint8_t* data, size_t size) {
  internal::MemorySource source(data, size, "input");
  CheckModel(source);
  CheckDescription(source);
  CheckCheckpoint(source);
}

}  // namespace lstmkit::fuzz
