#include "check.h"

namespace lstmkit {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;

const char* Version() { return LSTMKIT_VERSION_STRING; }

namespace internal {

void RequirePositive(const char* name, long long value) {
  Require(value > 0, name, " must be positive, got ", value);
}

void RequireBuffer(const char* name, const void* data, size_t actual,
                   size_t expected, const std::string& shape) {
  Require(actual == expected, name, " must hold ", expected, " values (", shape,
          "), got ", actual);
  Require(data != nullptr || expected == 0, name, " points to null but claims ",
          actual, " values");
}

std::string ShapeString(std::initializer_list<long long> dims) {
  std::ostringstream out;
  for (long long d : dims) out << '[' << d << ']';
  return out.str();
}

}  // namespace internal
}  // namespace lstmkit
