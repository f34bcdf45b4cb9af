// Picks the next character from a model's probabilities, with temperature
// and top-k, from a seeded generator so that a seed repeats a text.
#ifndef LSTMKIT_TOOLS_LSTMKIT_SAMPLER_H_
#define LSTMKIT_TOOLS_LSTMKIT_SAMPLER_H_

#include <cstdint>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::cli {

class Sampler {
 public:
  // temperature > 0: below 1 sharpens the distribution, above 1 flattens it.
  // top_k: only the k likeliest characters are candidates; 0 = all.
  Sampler(double temperature, int top_k, uint64_t seed);

  // An index into `probabilities` (which need not sum to exactly 1).
  int Sample(Span<const float> probabilities);

 private:
  double Uniform();  // in [0, 1)

  double temperature_;
  int top_k_;
  uint64_t state_;
  std::vector<std::pair<double, int>> candidates_;
};

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_SAMPLER_H_
