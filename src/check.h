// Argument validation helpers: every failure becomes lstmkit::Error with a
// message that names the argument and what was expected of it.
#ifndef LSTMKIT_SRC_CHECK_H_
#define LSTMKIT_SRC_CHECK_H_

#include <cstddef>
#include <sstream>
#include <string>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::internal {

template <typename... Parts>
[[noreturn]] void Fail(const Parts&... parts) {
  std::ostringstream message;
  message << "lstmkit: ";
  (message << ... << parts);
  throw Error(message.str());
}

template <typename... Parts>
void Require(bool condition, const Parts&... parts) {
  if (!condition) Fail(parts...);
}

// Requires value > 0.
void RequirePositive(const char* name, long long value);

// Requires a non-null buffer of exactly `expected` elements; `shape`
// describes it, e.g. "[T][B][I] = [5][2][3]".
void RequireBuffer(const char* name, const void* data, size_t actual,
                   size_t expected, const std::string& shape);

// RequireBuffer that builds the shape text only on failure, for paths that
// must not allocate when the arguments are right.
template <typename ShapeFn>
void RequireBufferLazy(const char* name, const void* data, size_t actual,
                       size_t expected, ShapeFn shape) {
  if (actual != expected || (data == nullptr && expected != 0)) {
    RequireBuffer(name, data, actual, expected, shape());
  }
}

// "[a][b][c]" for messages.
std::string ShapeString(std::initializer_list<long long> dims);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_CHECK_H_
