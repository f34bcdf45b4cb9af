// The scalar reference LSTM: every formula written out element by element,
// in double, sequence by sequence, with no shared code from the production
// path beyond the parameter layout and the dropout mask's definition. It is
// the oracle that optimized paths are tested against.
#ifndef LSTMKIT_SRC_REFERENCE_H_
#define LSTMKIT_SRC_REFERENCE_H_

#include <cstdint>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::reference {

// Time-major throughout (config.batch_first is ignored here).
struct Problem {
  ModelConfig config;
  int seq_len = 0;
  int batch = 0;
  std::vector<double> params;  // flat, in the model's parameter order
  std::vector<double> x;       // [T][B][I]
  std::vector<double> h0;      // [L*D][B][P], or empty for zeros
  std::vector<double> c0;      // [L*D][B][H], or empty for zeros
  // Per-sequence lengths, or empty when every sequence runs seq_len steps.
  // A sequence stops at its length: its later outputs are zero and count
  // in no loss, and its final state is the one at its own last step.
  std::vector<int> seq_lens;
  uint64_t dropout_seed = 0;  // Loss and Backward apply config.dropout
};

struct ForwardResult {
  std::vector<double> y;    // after the output activation
  std::vector<double> h_n;  // [L*D][B][P]
  std::vector<double> c_n;  // [L*D][B][H]
};

struct Objective {
  LossConfig loss;
  std::vector<double> targets;  // mean squared error
  std::vector<int32_t> labels;  // cross-entropy
};

struct BackwardResult {
  double loss = 0.0;
  std::vector<double> d_params;  // flat, in the model's parameter order
  std::vector<double> dx, dh0, dc0;
};

// Inference: no dropout.
ForwardResult Forward(const Problem& problem);
// Training: with dropout between layers when config.dropout > 0.
double Loss(const Problem& problem, const Objective& objective);
BackwardResult Backward(const Problem& problem, const Objective& objective);

// A Problem from a model's float parameters and a time-major input.
Problem MakeProblem(const Model& model, const Input& input);

}  // namespace lstmkit::reference

#endif  // LSTMKIT_SRC_REFERENCE_H_
