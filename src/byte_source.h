// Random access to the bytes of a file or of a buffer, so that one parser
// reads model files from disk and from memory (the fuzzer, embedded models).
#ifndef LSTMKIT_SRC_BYTE_SOURCE_H_
#define LSTMKIT_SRC_BYTE_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace lstmkit::internal {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Copies [offset, offset + count) into out. Throws lstmkit::Error when the
  // range is not inside size() or the read fails.
  virtual void Read(uint64_t offset, size_t count, uint8_t* out) = 0;
  // What error messages call it: the file's path, or "buffer".
  virtual const std::string& name() const = 0;
};

class MemorySource : public ByteSource {
 public:
  MemorySource(const uint8_t* data, size_t size, std::string name = "buffer");
  uint64_t size() const override { return size_; }
  void Read(uint64_t offset, size_t count, uint8_t* out) override;
  const std::string& name() const override { return name_; }

 private:
  const uint8_t* data_;
  size_t size_;
  std::string name_;
};

// Opens the file for reading; the size is taken once, at opening.
class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const override { return size_; }
  void Read(uint64_t offset, size_t count, uint8_t* out) override;
  const std::string& name() const override { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_BYTE_SOURCE_H_
