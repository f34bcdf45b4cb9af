// A small, seeded, platform-independent random generator (SplitMix64).
// std::uniform_real_distribution is implementation-defined, so results from
// it would differ between standard libraries.
#ifndef LSTMKIT_SRC_RNG_H_
#define LSTMKIT_SRC_RNG_H_

#include <cstdint>

namespace lstmkit::internal {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t NextU64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 24 random bits: exactly representable as float.
  float NextUnit() {
    return static_cast<float>(NextU64() >> 40) * (1.0f / 16777216.0f);
  }
  float Uniform(float low, float high) {
    return low + (high - low) * NextUnit();
  }
  // Uniform integer in [0, n), n > 0, without modulo bias.
  uint64_t Below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
      r = NextU64();
    } while (r >= limit);
    return r % n;
  }
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_RNG_H_
