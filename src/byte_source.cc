#include "byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "check.h"

namespace lstmkit::internal {

namespace {

void RequireInside(const ByteSource& source, uint64_t offset, size_t count) {
  Require(offset <= source.size() && count <= source.size() - offset,
          source.name(), ": read of ", count, " bytes at offset ", offset,
          " goes past the end (", source.size(), " bytes)");
}

}  // namespace

MemorySource::MemorySource(const uint8_t* data, size_t size, std::string name)
    : data_(data), size_(size), name_(std::move(name)) {
  Require(data != nullptr || size == 0, name_, " points to null but claims ",
          size, " bytes");
}

void MemorySource::Read(uint64_t offset, size_t count, uint8_t* out) {
  RequireInside(*this, offset, count);
  if (count > 0) std::memcpy(out, data_ + offset, count);
}

FileSource::FileSource(const std::string& path) : path_(path) {
  Require(!path.empty(), "path must not be empty");
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  Require(fd_ >= 0, "cannot open ", path, ": ", std::strerror(errno));
  struct stat info;
  if (::fstat(fd_, &info) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    Fail("cannot stat ", path, ": ", std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    Fail(path, " is not a regular file");
  }
  size_ = static_cast<uint64_t>(info.st_size);
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSource::Read(uint64_t offset, size_t count, uint8_t* out) {
  RequireInside(*this, offset, count);
  while (count > 0) {
    const ssize_t got = ::pread(fd_, out, count, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    Require(got >= 0, path_, ": read failed at offset ", offset, ": ",
            std::strerror(errno));
    // The file shrank after it was opened.
    Require(got > 0, path_, ": unexpected end of file at offset ", offset,
            " (the file changed while it was read)");
    out += got;
    offset += static_cast<uint64_t>(got);
    count -= static_cast<size_t>(got);
  }
}

}  // namespace lstmkit::internal
