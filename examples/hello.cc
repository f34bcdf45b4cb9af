// hello: the smallest complete lstmkit program in C++. It creates a model,
// runs one sequence through it as a batch and again step by step through a
// stream, and prints both: a stream computes exactly what Forward does.
#include <cstdio>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace {

constexpr int kSteps = 6;
constexpr int kFeatures = 2;

int Run() {
  lstmkit::ModelConfig config;
  config.input_size = kFeatures;
  config.hidden_size = 16;
  config.num_layers = 2;
  config.output_size = 1;
  const lstmkit::Model model(config, lstmkit::InitOptions{/*seed=*/7});

  // One sequence (batch 1), time-major: x[t][0][i].
  std::vector<float> x(kSteps * kFeatures);
  for (int t = 0; t < kSteps; ++t) {
    x[t * kFeatures] = 0.1f * t;
    x[t * kFeatures + 1] = 1.0f - 0.1f * t;
  }
  lstmkit::Input input;
  input.seq_len = kSteps;
  input.batch = 1;
  input.x = x;
  const lstmkit::Output batch = model.Forward(input);

  lstmkit::Stream stream(model);
  std::printf("lstmkit %s (C++ API), target %s\n", lstmkit::Version(),
              lstmkit::ActiveTarget().c_str());
  int mismatches = 0;
  for (int t = 0; t < kSteps; ++t) {
    float y = 0.0f;
    stream.Step({x.data() + t * kFeatures, kFeatures}, {&y, 1});
    std::printf("step %d   forward %+.6f   stream %+.6f\n", t, batch.y[t], y);
    if (y != batch.y[t]) ++mismatches;
  }
  return mismatches == 0 ? 0 : 1;
}

}  // namespace

int main() {
  try {
    return Run();
  } catch (const lstmkit::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
