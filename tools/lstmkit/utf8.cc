#include "utf8.h"

#include <cstdio>
#include <stdexcept>

#include "input_file.h"

namespace lstmkit::cli {
namespace {

// The length of the sequence a lead byte starts and the bits it carries, or
// 0 for a byte that cannot start one.
int SequenceLength(unsigned char lead, char32_t* bits) {
  if (lead < 0x80) {
    *bits = lead;
    return 1;
  }
  if (lead >= 0xC2 && lead <= 0xDF) {
    *bits = lead & 0x1F;
    return 2;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    *bits = lead & 0x0F;
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    *bits = lead & 0x07;
    return 4;
  }
  return 0;
}

// The smallest code point each length may encode (shorter forms are
// overlong and rejected).
char32_t SmallestFor(int length) {
  return length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
}

std::string Hex(unsigned char byte) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02X", byte);
  return text;
}

}  // namespace

std::u32string DecodeUtf8(const std::string& bytes, const std::string& source) {
  std::u32string text;
  size_t pos = bytes.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  int line = 1, column = 1;
  while (pos < bytes.size()) {
    const unsigned char lead = static_cast<unsigned char>(bytes[pos]);
    char32_t code_point = 0;
    const int length = SequenceLength(lead, &code_point);
    bool valid = length > 0 && pos + length <= bytes.size();
    for (int i = 1; valid && i < length; ++i) {
      const unsigned char next = static_cast<unsigned char>(bytes[pos + i]);
      valid = (next & 0xC0) == 0x80;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if (valid && length > 1) {
      valid = code_point >= SmallestFor(length) && code_point <= 0x10FFFF &&
              !(code_point >= 0xD800 && code_point <= 0xDFFF);
    }
    if (!valid) {
      throw std::runtime_error(Place(source, line, column) +
                               "invalid UTF-8 (byte " + Hex(lead) +
                               " at offset " + std::to_string(pos) +
                               "); the text must be UTF-8 encoded");
    }
    text += code_point;
    pos += length;
    if (code_point == U'\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return text;
}

std::string EncodeUtf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

std::string EncodeUtf8(const std::u32string& text) {
  std::string out;
  for (char32_t c : text) out += EncodeUtf8(c);
  return out;
}

std::string DescribeCharacter(char32_t c) {
  char code[16];
  std::snprintf(code, sizeof(code), "U+%04X", static_cast<unsigned>(c));
  if (c < 0x20 || c == 0x7F) return code;
  return "'" + EncodeUtf8(c) + "' (" + code + ")";
}

}  // namespace lstmkit::cli
