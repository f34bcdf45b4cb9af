#include "sample_stats.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lstmkit::cli {

SampleStats Summarize(std::vector<double> samples) {
  if (samples.empty()) throw std::invalid_argument("Summarize: no samples");
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  SampleStats stats;
  stats.min = samples.front();
  stats.max = samples.back();
  stats.median =
      n % 2 == 1 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  const size_t rank = static_cast<size_t>(std::ceil(0.99 * n));
  stats.p99 = samples[std::max<size_t>(rank, 1) - 1];
  return stats;
}

}  // namespace lstmkit::cli
