// CRC-32 as zlib's crc32() and Python's zlib.crc32 compute it (reflected
// polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF), so that
// scripts in any language can check a model file's data with their standard
// library.
#ifndef LSTMKIT_SRC_CRC32_H_
#define LSTMKIT_SRC_CRC32_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace lstmkit::internal {

class Crc32 {
 public:
  void Update(const uint8_t* data, size_t size);
  uint32_t value() const { return ~state_; }

 private:
  uint32_t state_ = 0xFFFFFFFFu;
};

uint32_t ComputeCrc32(const uint8_t* data, size_t size);

// "crc32:1a2b3c4d": lower-case hex, always 8 digits, so that the text has the
// same length for every value.
std::string FormatCrc32(uint32_t crc);
// Parses FormatCrc32's text exactly; false for anything else.
bool ParseCrc32(const std::string& text, uint32_t* crc);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_CRC32_H_
