#include "safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "check.h"
#include "crc32.h"
#include "json_parse.h"

namespace lstmkit::internal {

namespace {

using nlohmann::json;

struct DtypeInfo {
  Dtype dtype;
  const char* name;
  size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {Dtype::kBool, "BOOL", 1},      {Dtype::kU8, "U8", 1},
    {Dtype::kI8, "I8", 1},          {Dtype::kF8E5M2, "F8_E5M2", 1},
    {Dtype::kF8E4M3, "F8_E4M3", 1}, {Dtype::kI16, "I16", 2},
    {Dtype::kU16, "U16", 2},        {Dtype::kF16, "F16", 2},
    {Dtype::kBF16, "BF16", 2},      {Dtype::kI32, "I32", 4},
    {Dtype::kU32, "U32", 4},        {Dtype::kF32, "F32", 4},
    {Dtype::kF64, "F64", 8},        {Dtype::kI64, "I64", 8},
    {Dtype::kU64, "U64", 8},
};

constexpr char kMetadataKey[] = "__metadata__";
constexpr size_t kLengthPrefixBytes = 8;
constexpr size_t kHeaderAlignment = 8;
// Whole elements of every dtype (sizes 1, 2, 4, 8) fit a chunk exactly.
constexpr size_t kReadChunk = size_t{1} << 16;
// The header object, a tensor entry, and its shape or offsets array.
constexpr size_t kMaxJsonDepth = 3;
// Names in messages are cut to this many characters: a hostile file may
// carry megabyte-long names.
constexpr size_t kMaxQuotedName = 120;

const DtypeInfo& Info(Dtype dtype) {
  for (const DtypeInfo& info : kDtypes) {
    if (info.dtype == dtype) return info;
  }
  Fail("internal error: unknown dtype ", static_cast<int>(dtype));
}

std::string Quote(const std::string& text) { return QuoteForMessage(text); }

uint64_t LoadLittleEndian64(const uint8_t* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | p[i];
  return value;
}

void StoreLittleEndian64(uint64_t value, uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
}

json ParseJson(const std::string& source, std::string_view text) {
  return ParseStrictJson(source + ": the header", text, kMaxJsonDepth);
}

uint64_t RequireUnsigned(const std::string& source, const std::string& tensor,
                         const char* field, const json& value) {
  if (!value.is_number_unsigned()) {
    Fail(source, ": tensor ", Quote(tensor), ": ", field,
         " must hold non-negative integers, got ", value.dump());
  }
  return value.get<uint64_t>();
}

Dtype ParseDtype(const std::string& source, const std::string& tensor,
                 const json& value) {
  if (!value.is_string()) {
    Fail(source, ": tensor ", Quote(tensor), ": dtype must be a string, got ",
         value.dump());
  }
  const std::string& name = value.get_ref<const std::string&>();
  for (const DtypeInfo& info : kDtypes) {
    if (name == info.name) return info.dtype;
  }
  Fail(source, ": tensor ", Quote(tensor), ": unknown dtype ", Quote(name));
}

std::vector<int64_t> ParseShape(const std::string& source,
                                const std::string& tensor, const json& value,
                                uint64_t* elements) {
  if (!value.is_array()) {
    Fail(source, ": tensor ", Quote(tensor), ": shape must be an array, got ",
         value.dump());
  }
  if (value.size() > kMaxRank) {
    Fail(source, ": tensor ", Quote(tensor), ": shape has ", value.size(),
         " dimensions, at most ", kMaxRank, " are supported");
  }
  std::vector<int64_t> shape;
  uint64_t product = 1;
  for (const json& dimension : value) {
    const uint64_t d = RequireUnsigned(source, tensor, "shape", dimension);
    if (d > static_cast<uint64_t>(INT64_MAX)) {
      Fail(source, ": tensor ", Quote(tensor), ": shape dimension ", d,
           " is too large");
    }
    if (d != 0 && product > UINT64_MAX / d) {
      Fail(source, ": tensor ", Quote(tensor), ": the shape ", value.dump(),
           " has more elements than 2^64");
    }
    product *= d;
    shape.push_back(static_cast<int64_t>(d));
  }
  *elements = product;
  return shape;
}

TensorEntry ParseEntry(const std::string& source, const std::string& name,
                       const json& value, uint64_t data_size) {
  if (name.empty()) Fail(source, ": a tensor has an empty name");
  // Built only when a check fails: a header may hold many entries.
  auto where = [&] { return source + ": tensor " + Quote(name) + ": "; };
  if (!value.is_object()) {
    Fail(where(), "its entry must be an object with dtype, shape and ",
         "data_offsets, got ", value.type_name());
  }
  for (const auto& field : value.items()) {
    const std::string& key = field.key();
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      Fail(where(), "unknown field ", Quote(key),
           " (expected dtype, shape and data_offsets)");
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) Fail(where(), "missing field \"", key, "\"");
  }
  TensorEntry entry;
  entry.name = name;
  entry.dtype = ParseDtype(source, name, value["dtype"]);
  entry.shape = ParseShape(source, name, value["shape"], &entry.elements);
  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    Fail(where(), "data_offsets must be [begin, end], got ", offsets.dump());
  }
  entry.begin = RequireUnsigned(source, name, "data_offsets", offsets[0]);
  entry.end = RequireUnsigned(source, name, "data_offsets", offsets[1]);
  if (entry.begin > entry.end) {
    Fail(where(), "data_offsets [", entry.begin, ", ", entry.end,
         "] end before they begin");
  }
  if (entry.end > data_size) {
    Fail(where(), "data_offsets [", entry.begin, ", ", entry.end,
         "] reach past the data section (", data_size, " bytes)");
  }
  const size_t element_size = DtypeSize(entry.dtype);
  if (entry.elements > UINT64_MAX / element_size) {
    Fail(where(), entry.elements, " elements of ", DtypeName(entry.dtype),
         " overflow a 64-bit byte count");
  }
  const uint64_t bytes = entry.elements * element_size;
  if (entry.end - entry.begin != bytes) {
    Fail(where(), "data_offsets [", entry.begin, ", ", entry.end, "] hold ",
         entry.end - entry.begin, " bytes, but ", entry.elements,
         " elements of ", DtypeName(entry.dtype), " need ", bytes);
  }
  return entry;
}

Metadata ParseMetadata(const std::string& source, const json& value) {
  Require(value.is_object(), source,
          ": __metadata__ must be an object of strings, got ",
          value.type_name());
  Metadata metadata;
  for (const auto& item : value.items()) {
    if (!item.value().is_string()) {
      Fail(source, ": __metadata__ ", Quote(item.key()),
           " must be a string, got ", item.value().type_name());
    }
    metadata.emplace(item.key(), item.value().get<std::string>());
  }
  return metadata;
}

// Sorted by begin, each tensor must start where the previous one ended, the
// first at 0 and the last ending at data_size: no overlaps, no gaps, nothing
// left over.
void RequireExactCover(const std::string& source,
                       const std::vector<TensorEntry>& tensors,
                       uint64_t data_size) {
  uint64_t covered = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry& t : tensors) {
    if (t.begin < covered) {
      Fail(source, ": tensors ", Quote(previous->name), " [", previous->begin,
           ", ", previous->end, ") and ", Quote(t.name), " [", t.begin, ", ",
           t.end, ") overlap");
    }
    if (t.begin > covered) {
      Fail(source, ": bytes [", covered, ", ", t.begin,
           ") of the data section belong to no tensor");
    }
    covered = t.end;
    previous = &t;
  }
  Require(covered == data_size, source, ": the data section has ", data_size,
          " bytes but the tensors cover only ", covered);
}

}  // namespace

std::string QuoteForMessage(const std::string& text) {
  std::string quoted;
  try {
    quoted = json(text).dump(-1, ' ', /*ensure_ascii=*/true);
  } catch (const json::exception&) {
    // Text that is not UTF-8 (from a caller, not from a parsed header).
    quoted = json(text).dump(-1, ' ', true, json::error_handler_t::replace);
  }
  if (quoted.size() > kMaxQuotedName) {
    quoted = quoted.substr(0, kMaxQuotedName) + "...\"";
  }
  return quoted;
}

const char* DtypeName(Dtype dtype) { return Info(dtype).name; }
size_t DtypeSize(Dtype dtype) { return Info(dtype).size; }

const TensorEntry* SafetensorsHeader::Find(const std::string& name) const {
  const auto found = index_.find(name);
  return found == index_.end() ? nullptr : &tensors[found->second];
}

SafetensorsHeader ParseSafetensorsHeader(const std::string& source,
                                         std::string_view text,
                                         uint64_t data_size) {
  const json header = ParseJson(source, text);
  Require(header.is_object(), source,
          ": the header must be a JSON object, got ", header.type_name());
  SafetensorsHeader result;
  result.data_size = data_size;
  for (const auto& item : header.items()) {
    if (item.key() == kMetadataKey) {
      result.metadata = ParseMetadata(source, item.value());
    } else {
      result.tensors.push_back(
          ParseEntry(source, item.key(), item.value(), data_size));
    }
  }
  std::sort(result.tensors.begin(), result.tensors.end(),
            [](const TensorEntry& a, const TensorEntry& b) {
              return std::make_pair(a.begin, a.end) <
                     std::make_pair(b.begin, b.end);
            });
  RequireExactCover(source, result.tensors, data_size);
  for (size_t i = 0; i < result.tensors.size(); ++i) {
    result.index_.emplace(result.tensors[i].name, i);
  }
  return result;
}

SafetensorsHeader ReadSafetensorsHeader(ByteSource& source) {
  const std::string& name = source.name();
  const uint64_t file_size = source.size();
  Require(file_size >= kLengthPrefixBytes, name, ": the file has ", file_size,
          " bytes; a safetensors file starts with an 8-byte header length");
  uint8_t prefix[kLengthPrefixBytes];
  source.Read(0, kLengthPrefixBytes, prefix);
  const uint64_t header_size = LoadLittleEndian64(prefix);
  Require(header_size <= kMaxHeaderBytes, name, ": the header length is ",
          header_size, " bytes, more than the limit of ", kMaxHeaderBytes,
          " (not a safetensors file, or a damaged one)");
  Require(header_size <= file_size - kLengthPrefixBytes, name,
          ": the header length is ", header_size, " bytes but only ",
          file_size - kLengthPrefixBytes,
          " bytes follow it (the file is truncated)");
  std::string text(header_size, '\0');
  source.Read(kLengthPrefixBytes, header_size,
              reinterpret_cast<uint8_t*>(text.data()));
  SafetensorsHeader header = ParseSafetensorsHeader(
      name, text, file_size - kLengthPrefixBytes - header_size);
  header.data_start = kLengthPrefixBytes + header_size;
  return header;
}

uint32_t ReadTensorData(ByteSource& source, const SafetensorsHeader& header,
                        const TensorSink& sink) {
  Crc32 crc;
  std::vector<uint8_t> chunk(
      std::min<uint64_t>(kReadChunk, std::max<uint64_t>(header.data_size, 1)));
  for (const TensorEntry& t : header.tensors) {
    for (uint64_t offset = 0; offset < t.end - t.begin;) {
      const size_t size = static_cast<size_t>(
          std::min<uint64_t>(chunk.size(), t.end - t.begin - offset));
      source.Read(header.data_start + t.begin + offset, size, chunk.data());
      crc.Update(chunk.data(), size);
      sink(t, offset, chunk.data(), size);
      offset += size;
    }
  }
  return crc.value();
}

std::vector<uint8_t> WriteSafetensors(const std::vector<TensorToWrite>& tensors,
                                      Metadata metadata,
                                      const std::string& checksum_key) {
  json header = json::object();
  std::vector<uint64_t> begins;
  uint64_t data_size = 0;
  for (const TensorToWrite& t : tensors) {
    if (t.name == kMetadataKey || t.name.empty() || header.contains(t.name)) {
      Fail("internal error: tensor name ", Quote(t.name),
           " is empty, reserved or repeated");
    }
    uint64_t bytes = DtypeSize(t.dtype);
    for (int64_t d : t.shape) bytes *= static_cast<uint64_t>(d);
    header[t.name] = {{"dtype", DtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {data_size, data_size + bytes}}};
    begins.push_back(data_size);
    data_size += bytes;
  }
  // The checksum's text has a fixed length, so the header's length is known
  // before the data is written and the checksum filled in afterwards.
  if (!checksum_key.empty()) metadata[checksum_key] = FormatCrc32(0);
  auto render = [&]() {
    if (!metadata.empty()) header[kMetadataKey] = metadata;
    std::string text;
    try {
      text = header.dump();
    } catch (const json::exception& e) {
      Fail("metadata must be valid UTF-8 text: ", e.what());
    }
    text.append(
        (kHeaderAlignment - text.size() % kHeaderAlignment) % kHeaderAlignment,
        ' ');
    return text;
  };
  const std::string draft = render();
  const size_t data_start = kLengthPrefixBytes + draft.size();
  std::vector<uint8_t> file(data_start + data_size);
  for (size_t i = 0; i < tensors.size(); ++i) {
    tensors[i].encode(file.data() + data_start + begins[i]);
  }
  std::string text = draft;
  if (!checksum_key.empty()) {
    metadata[checksum_key] =
        FormatCrc32(ComputeCrc32(file.data() + data_start, data_size));
    text = render();
    Require(text.size() == draft.size(),
            "internal error: the header changed length with its checksum");
  }
  StoreLittleEndian64(text.size(), file.data());
  std::copy(text.begin(), text.end(), file.begin() + kLengthPrefixBytes);
  return file;
}

}  // namespace lstmkit::internal
