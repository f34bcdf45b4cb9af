#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "check.h"

namespace lstmkit::internal {

namespace {

// Large enough that the per-call cost vanishes, small enough that the test
// hook sees a multi-megabyte save in several pieces.
constexpr size_t kWriteChunk = size_t{1} << 20;

std::atomic<AtomicWriteHook> g_write_hook{nullptr};
std::atomic<unsigned> g_temporary_counter{0};

struct SplitPath {
  std::string directory;  // "." when the path has no slash
  std::string file;
};

SplitPath Split(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

std::string TemporaryPath(const SplitPath& parts) {
  return parts.directory + "/." + parts.file + ".tmp-" +
         std::to_string(::getpid()) + "-" +
         std::to_string(g_temporary_counter.fetch_add(1));
}

// Removes the temporary file unless released, so that every error path
// cleans up after itself.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!released_) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  void set_fd(int fd) { fd_ = fd; }
  // Closes explicitly: close() can report a failed write-back.
  int Close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }
  void Release() { released_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool released_ = false;
};

void WriteAll(TemporaryFile& file, const std::string& target,
              const uint8_t* data, size_t size) {
  size_t written = 0;
  while (written < size) {
    const size_t chunk = std::min(kWriteChunk, size - written);
    const ssize_t got = ::write(file.fd(), data + written, chunk);
    if (got < 0 && errno == EINTR) continue;
    Require(got > 0, "cannot write ", target, ": writing ", file.path(),
            " failed after ", written, " of ", size,
            " bytes: ", std::strerror(errno));
    written += static_cast<size_t>(got);
    if (AtomicWriteHook hook = g_write_hook.load()) {
      hook(file.path(), written, size);
    }
  }
}

void SyncDirectory(const std::string& directory, const std::string& target) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  Require(fd >= 0, "cannot write ", target, ": cannot open its directory ",
          directory, " to sync the rename: ", std::strerror(errno));
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL); the rename is as
  // durable there as they make it.
  Require(result == 0 || error == EINVAL, "cannot write ", target,
          ": syncing its directory ", directory,
          " failed: ", std::strerror(error));
}

}  // namespace

void WriteFileAtomically(const std::string& path, const uint8_t* data,
                         size_t size) {
  Require(!path.empty(), "path must not be empty");
  Require(path.back() != '/', "path must name a file, got the directory ",
          path);
  Require(data != nullptr || size == 0, "data points to null but claims ", size,
          " bytes");
  const SplitPath parts = Split(path);
  TemporaryFile file(TemporaryPath(parts));
  file.set_fd(::open(file.path().c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (file.fd() < 0) {
    const int error = errno;
    file.Release();  // not created, nothing to remove
    Fail("cannot write ", path, ": cannot create ", file.path(), ": ",
         std::strerror(error));
  }
  WriteAll(file, path, data, size);
  Require(::fsync(file.fd()) == 0, "cannot write ", path, ": fsync of ",
          file.path(), " failed: ", std::strerror(errno));
  Require(file.Close() == 0, "cannot write ", path, ": closing ", file.path(),
          " failed: ", std::strerror(errno));
  Require(std::rename(file.path().c_str(), path.c_str()) == 0, "cannot write ",
          path, ": renaming ", file.path(),
          " over it failed: ", std::strerror(errno));
  file.Release();
  SyncDirectory(parts.directory, path);
}

void SetAtomicWriteHookForTesting(AtomicWriteHook hook) {
  g_write_hook.store(hook);
}

}  // namespace lstmkit::internal
