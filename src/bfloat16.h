// bfloat16, the upper half of a float32, as model files store it.
#ifndef LSTMKIT_SRC_BFLOAT16_H_
#define LSTMKIT_SRC_BFLOAT16_H_

#include <cstdint>
#include <cstring>

namespace lstmkit::internal {

// Rounds to the nearest bfloat16, ties to even, as PyTorch's
// tensor.to(torch.bfloat16) does (NaN becomes PyTorch's quiet NaN 0x7FC0),
// so files written here and by PyTorch hold the same bits. Truncating would
// bias every weight towards zero.
inline uint16_t FloatToBfloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0u;
  const uint32_t lowest_kept_bit = (bits >> 16) & 1u;
  return static_cast<uint16_t>((bits + 0x7FFFu + lowest_kept_bit) >> 16);
}

// Exact: every bfloat16 is a float32.
inline float Bfloat16ToFloat(uint16_t value) {
  const uint32_t bits = uint32_t{value} << 16;
  float result;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_BFLOAT16_H_
