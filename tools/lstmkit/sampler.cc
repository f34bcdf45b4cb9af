#include "sampler.h"

#include <algorithm>
#include <cmath>

namespace lstmkit::cli {

Sampler::Sampler(double temperature, int top_k, uint64_t seed)
    : temperature_(temperature), top_k_(top_k), state_(seed) {}

double Sampler::Uniform() {
  // splitmix64
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) / 9007199254740992.0;
}

int Sampler::Sample(Span<const float> probabilities) {
  candidates_.clear();
  for (size_t i = 0; i < probabilities.size(); ++i) {
    if (probabilities[i] > 0) {
      candidates_.emplace_back(std::log(double{probabilities[i]}),
                               static_cast<int>(i));
    }
  }
  if (candidates_.empty()) return 0;
  // Likeliest first, ties by index, so that top-k is well defined.
  std::sort(
      candidates_.begin(), candidates_.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
  if (top_k_ > 0 && candidates_.size() > static_cast<size_t>(top_k_)) {
    candidates_.resize(top_k_);
  }
  // p^(1/T), scaled by the largest so that exp cannot overflow.
  const double largest = candidates_.front().first;
  double total = 0;
  for (auto& candidate : candidates_) {
    candidate.first = std::exp((candidate.first - largest) / temperature_);
    total += candidate.first;
  }
  double pick = Uniform() * total;
  for (const auto& candidate : candidates_) {
    pick -= candidate.first;
    if (pick < 0) return candidate.second;
  }
  return candidates_.back().second;
}

}  // namespace lstmkit::cli
