// The `checksum` of `lstmkit bench`: FNV-1a, 64 bits, over the bytes of
// float32 values. It tells whether two runs produced the same bits, so it
// hashes the representation, not the value (-0.0 and 0.0 differ).
#ifndef LSTMKIT_TOOLS_LSTMKIT_CHECKSUM_H_
#define LSTMKIT_TOOLS_LSTMKIT_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lstmkit::cli {

class Fnv1a64 {
 public:
  // Adds each value's four bytes in little-endian order, the order x86 keeps
  // them in memory.
  void Add(const float* values, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &values[i], sizeof(bits));
      for (int byte = 0; byte < 4; ++byte) {
        hash_ ^= (bits >> (8 * byte)) & 0xffu;
        hash_ *= kPrime;
      }
    }
  }
  uint64_t value() const { return hash_; }

 private:
  static constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ull;
  static constexpr uint64_t kPrime = 0x100000001b3ull;
  uint64_t hash_ = kOffsetBasis;
};

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CHECKSUM_H_
