#include "model_file_info.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "checkpoint_file.h"
#include "crc32.h"
#include "model_file.h"

namespace lstmkit {

namespace internal {

namespace {

// Metadata values can be long (a vocabulary) and hold newlines; the
// description shows an escaped beginning.
constexpr size_t kMaxShownValue = 72;
constexpr size_t kMaxNameColumn = 40;

std::string Shown(const std::string& text) {
  std::string shown = QuoteForMessage(text);
  if (shown.size() > kMaxShownValue) {
    shown = shown.substr(0, kMaxShownValue) + "...\" (" +
            std::to_string(text.size()) + " bytes)";
  }
  return shown;
}

std::string FormatBytes(uint64_t bytes) {
  std::ostringstream out;
  out << bytes << " bytes";
  if (bytes >= (uint64_t{1} << 20)) {
    out << std::fixed << std::setprecision(1) << " (" << bytes / 1048576.0
        << " MiB)";
  } else if (bytes >= 1024) {
    out << std::fixed << std::setprecision(1) << " (" << bytes / 1024.0
        << " KiB)";
  }
  return out.str();
}

std::string ChecksumLine(const ModelFileInfo& info) {
  switch (info.checksum) {
    case ChecksumState::kVerified:
      return info.stored_checksum + ", verified";
    case ChecksumState::kMismatch:
      return "MISMATCH: the file records " + info.stored_checksum +
             " but its data gives " + info.computed_checksum +
             "; the file is damaged and will not load";
    case ChecksumState::kAbsent:
      break;
  }
  return "none recorded, not checked (data gives " + info.computed_checksum +
         ")";
}

void DescribeTensors(const ModelFileInfo& info, std::ostringstream& out) {
  uint64_t data_bytes = 0;
  size_t name_width = 0;
  for (const TensorDescription& t : info.tensors) {
    data_bytes += t.bytes;
    name_width = std::max(name_width, t.name.size());
  }
  name_width = std::min(name_width, kMaxNameColumn);
  out << "tensors: " << info.tensors.size() << ", " << FormatBytes(data_bytes)
      << " of data\n";
  for (const TensorDescription& t : info.tensors) {
    out << "  " << std::left << std::setw(static_cast<int>(name_width))
        << t.name << "  " << std::setw(4) << t.dtype << "  " << std::setw(14)
        << ShapeText(t.shape) << "  " << std::right << t.bytes << " bytes\n";
  }
}

ModelFileInfo Inspect(ByteSource& source, const ModelFileHeader& header) {
  ModelFileInfo info;
  info.file_size = source.size();
  info.format_version = header.format_version;
  info.is_checkpoint = header.kind == FileKind::kCheckpoint;
  info.config_inferred = header.config_inferred;
  info.config = header.config;
  for (const TensorEntry& t : header.container.tensors) {
    info.tensors.push_back(
        {t.name, DtypeName(t.dtype), t.shape, t.end - t.begin});
  }
  const uint32_t computed = ComputeDataChecksum(source, header);
  info.computed_checksum = FormatCrc32(computed);
  if (header.has_checksum) {
    info.stored_checksum = FormatCrc32(header.checksum);
    info.checksum = header.checksum == computed ? ChecksumState::kVerified
                                                : ChecksumState::kMismatch;
  }
  info.metadata = header.extra_metadata;
  return info;
}

}  // namespace

ModelFileInfo InspectModelFile(ByteSource& source) {
  return Inspect(source, ReadModelFileHeader(source));
}

std::string DescribeModelFile(ByteSource& source) {
  const ModelFileHeader header = ReadModelFileHeader(source);
  const ModelFileInfo info = Inspect(source, header);
  std::ostringstream out;
  out << source.name() << ": ";
  if (info.format_version == 0) {
    out << "safetensors file without lstmkit metadata";
  } else {
    out << "lstmkit " << (info.is_checkpoint ? "checkpoint" : "model file")
        << ", format version " << info.format_version;
  }
  out << ", " << FormatBytes(info.file_size) << "\n";
  out << "config"
      << (info.config_inferred ? " (inferred from the tensors)" : "") << ": "
      << DescribeConfig(info.config) << "\n";
  out << "checksum: " << ChecksumLine(info) << "\n";
  if (info.is_checkpoint) {
    // The model part is sound; a damaged training state is reported here
    // rather than hiding the rest of the description.
    std::string training;
    try {
      training = DescribeTrainingState(source.name(), header.lstmkit_metadata);
    } catch (const Error& e) {
      training = std::string("unreadable: ") + e.what();
    }
    out << "training: " << training << "\n";
  }
  DescribeTensors(info, out);
  out << "metadata: " << info.metadata.size()
      << (info.metadata.size() == 1 ? " entry" : " entries") << "\n";
  for (const auto& entry : info.metadata) {
    out << "  " << Shown(entry.first) << " = " << Shown(entry.second) << "\n";
  }
  return out.str();
}

}  // namespace internal

ModelFileInfo InspectModelFile(const std::string& path) {
  internal::FileSource source(path);
  return internal::InspectModelFile(source);
}

std::string DescribeModelFile(const std::string& path) {
  internal::FileSource source(path);
  return internal::DescribeModelFile(source);
}

}  // namespace lstmkit
