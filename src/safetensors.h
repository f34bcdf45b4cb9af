// The safetensors container: an 8-byte little-endian header length, a JSON
// header that gives each tensor's dtype, shape and byte range, an optional
// "__metadata__" map of strings, then the raw little-endian data. This layer
// knows nothing about LSTMs; model_file.h gives the tensors their meaning.
#ifndef LSTMKIT_SRC_SAFETENSORS_H_
#define LSTMKIT_SRC_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "byte_source.h"

namespace lstmkit::internal {

// Every dtype the format defines, so that a file holding one that lstmkit
// does not use fails with its name rather than as "unknown".
enum class Dtype {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64,
};

const char* DtypeName(Dtype dtype);
size_t DtypeSize(Dtype dtype);

// A name or value from a file as a JSON string literal, ASCII only and cut
// short, so that control characters or megabyte-long names in a hostile file
// cannot garble an error message.
std::string QuoteForMessage(const std::string& text);

using Metadata = std::map<std::string, std::string>;

// Bounds a hostile header before it is read: far above any lstmkit header
// (a few kilobytes plus whatever metadata a caller stores, such as a
// vocabulary), far below what would exhaust memory.
constexpr uint64_t kMaxHeaderBytes = uint64_t{64} << 20;
// A tensor of higher rank is no LSTM parameter; the bound keeps shape
// arithmetic and messages small.
constexpr size_t kMaxRank = 8;

struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
  uint64_t elements = 0;  // the product of shape
  uint64_t begin = 0;     // byte range in the data section, end exclusive
  uint64_t end = 0;
};

// A header that passed every structural check: tensors lie inside the data
// section, in order, without gaps or overlaps, and cover it exactly.
struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;  // sorted by begin
  Metadata metadata;
  uint64_t data_start = 0;  // 8 + header length
  uint64_t data_size = 0;

  // nullptr when absent.
  const TensorEntry* Find(const std::string& name) const;

 private:
  friend SafetensorsHeader ParseSafetensorsHeader(const std::string&,
                                                  std::string_view, uint64_t);
  std::map<std::string, size_t> index_;
};

// Reads and checks the length prefix and the header; reads no tensor data.
// Throws lstmkit::Error naming the source and the problem.
SafetensorsHeader ReadSafetensorsHeader(ByteSource& source);

// Checks the JSON header text of a file whose data section holds data_size
// bytes. source_name prefixes error messages.
SafetensorsHeader ParseSafetensorsHeader(const std::string& source_name,
                                         std::string_view json,
                                         uint64_t data_size);

// Calls sink for every tensor, in file order, with its bytes in pieces of
// whole elements (offset_bytes counts from the tensor's start), and returns
// the CRC-32 of the whole data section. Reads in bounded chunks, so memory
// does not grow with the file.
using TensorSink =
    std::function<void(const TensorEntry& tensor, uint64_t offset_bytes,
                       const uint8_t* bytes, size_t size)>;
uint32_t ReadTensorData(ByteSource& source, const SafetensorsHeader& header,
                        const TensorSink& sink);

// One tensor to write: encode fills exactly elements * DtypeSize(dtype)
// bytes of little-endian data.
struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
  std::function<void(uint8_t* out)> encode;
};

// Builds a whole file in memory: tensors in the given order, the JSON header
// with sorted keys and no spaces, padded with spaces to a multiple of 8
// bytes (as the Python safetensors package does). With checksum_key set,
// metadata[checksum_key] receives FormatCrc32 of the data section.
std::vector<uint8_t> WriteSafetensors(const std::vector<TensorToWrite>& tensors,
                                      Metadata metadata,
                                      const std::string& checksum_key);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_SAFETENSORS_H_
