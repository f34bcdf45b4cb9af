#include "bench_case.h"

#include <string>

namespace lstmkit::cli {
namespace {

void RequireAtLeast(int value, int least, const char* flag) {
  if (value < least) {
    throw UsageError(std::string(flag) + " must be at least " +
                     std::to_string(least) + ", got " + std::to_string(value));
  }
}

// P: the width of one direction's h.
int StateWidth(const BenchCase& c) {
  return c.proj_size > 0 ? c.proj_size : c.hidden_size;
}

// Forward FLOPs of one time step over the whole stack: in each layer and
// direction the two gate products, 2 * B * 4H * (I_k + P), and with a
// projection 2 * B * P * H more.
double ForwardStepFlops(const BenchCase& c) {
  const double directions = c.bidirectional ? 2 : 1;
  const double p = StateWidth(c);
  const double projection =
      c.proj_size > 0 ? 2.0 * c.batch * p * c.hidden_size : 0.0;
  double flops = 0;
  for (int layer = 0; layer < c.layers; ++layer) {
    const double in = layer == 0 ? c.input_size : OutputWidth(c);
    flops += directions *
             (2.0 * c.batch * 4.0 * c.hidden_size * (in + p) + projection);
  }
  return flops;
}

// splitmix64: tiny, well mixed and trivial to reproduce in any language.
uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

const char* ModeName(BenchMode mode) {
  switch (mode) {
    case BenchMode::kStep:
      return "step";
    case BenchMode::kInfer:
      return "infer";
    case BenchMode::kTrain:
      return "train";
  }
  return "?";
}

BenchMode ParseMode(const std::string& name) {
  for (BenchMode mode :
       {BenchMode::kStep, BenchMode::kInfer, BenchMode::kTrain}) {
    if (name == ModeName(mode)) return mode;
  }
  throw UsageError("--mode must be step, infer or train, got '" + name + "'");
}

void Validate(const BenchCase& c) {
  RequireAtLeast(c.batch, 1, "--batch");
  RequireAtLeast(c.seq_len, 1, "--seq");
  RequireAtLeast(c.input_size, 1, "--input");
  RequireAtLeast(c.hidden_size, 1, "--hidden");
  RequireAtLeast(c.layers, 1, "--layers");
  RequireAtLeast(c.threads, 0, "--threads");
  RequireAtLeast(c.repeat, 1, "--repeat");
  if (c.mode == BenchMode::kStep && c.batch != 1) {
    throw UsageError(
        "--mode step needs --batch 1 (a stream carries one "
        "sequence), got --batch " +
        std::to_string(c.batch));
  }
  if (c.mode == BenchMode::kStep && c.bidirectional) {
    throw UsageError(
        "--mode step cannot run --bidirectional: a stream steps forward "
        "one time step at a time, and the reverse direction needs the "
        "whole sequence first (use --mode infer)");
  }
  RequireAtLeast(c.proj_size, 0, "--proj");
  if (c.proj_size >= c.hidden_size) {
    throw UsageError(
        "--proj must be less than --hidden = " + std::to_string(c.hidden_size) +
        " (0 = no projection), got " + std::to_string(c.proj_size));
  }
  if (c.dtype != "f32" && c.dtype != "bf16") {
    throw UsageError("--dtype must be f32 or bf16, got '" + c.dtype + "'");
  }
  SequenceElements(c, c.input_size);
  SequenceElements(c, OutputWidth(c));
}

int OutputWidth(const BenchCase& c) {
  return (c.bidirectional ? 2 : 1) * StateWidth(c);
}

double SampleFlops(const BenchCase& c) {
  switch (c.mode) {
    case BenchMode::kStep:
      return ForwardStepFlops(c);
    case BenchMode::kInfer:
      return ForwardStepFlops(c) * c.seq_len;
    case BenchMode::kTrain:
      return 3.0 * ForwardStepFlops(c) * c.seq_len;
  }
  return 0;
}

size_t SequenceElements(const BenchCase& c, int width) {
  // Buffers of more than 2^34 floats (64 GiB) are a typing mistake here.
  constexpr size_t kMaxElements = size_t{1} << 34;
  size_t elements = 1;
  for (int factor : {c.seq_len, c.batch, width}) {
    if (factor < 1 || elements > kMaxElements / static_cast<size_t>(factor)) {
      throw UsageError(
          "--seq x --batch x width is too large (more than 2^34 "
          "floats)");
    }
    elements *= static_cast<size_t>(factor);
  }
  return elements;
}

std::vector<float> PatternInput(size_t count, uint64_t seed) {
  std::vector<float> values(count);
  uint64_t state = seed;
  for (float& v : values) {
    // The top 24 bits give every float in [0, 1) with spacing 2^-24 exactly.
    const double unit = static_cast<double>(SplitMix64(&state) >> 40) /
                        static_cast<double>(1u << 24);
    v = static_cast<float>(2.0 * unit - 1.0);
  }
  return values;
}

}  // namespace lstmkit::cli
