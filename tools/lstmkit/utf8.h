// Strict UTF-8: text files and prompts are decoded to code points, and a
// byte sequence that is not UTF-8 is an error that says where it is.
#ifndef LSTMKIT_TOOLS_LSTMKIT_UTF8_H_
#define LSTMKIT_TOOLS_LSTMKIT_UTF8_H_

#include <string>

namespace lstmkit::cli {

// Decodes `bytes`, skipping a leading byte-order mark. Rejects stray and
// truncated sequences, overlong forms, surrogates and values past U+10FFFF
// with std::runtime_error "SOURCE:LINE:COLUMN: invalid UTF-8 ..." (the column
// counts characters from 1).
std::u32string DecodeUtf8(const std::string& bytes, const std::string& source);

std::string EncodeUtf8(char32_t code_point);
std::string EncodeUtf8(const std::u32string& text);

// A character for messages: "'a' (U+0061)", or just "U+000A" for controls.
std::string DescribeCharacter(char32_t code_point);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_UTF8_H_
