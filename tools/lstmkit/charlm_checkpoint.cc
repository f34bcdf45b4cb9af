#include "charlm_checkpoint.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "input_file.h"

namespace lstmkit::cli {
namespace {

constexpr char kMagic[] = "lstmkit charlm checkpoint 1\n";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;

void AppendU64(uint64_t value, std::string* out) {
  for (int byte = 0; byte < 8; ++byte) {
    out->push_back(static_cast<char>((value >> (8 * byte)) & 0xff));
  }
}

template <typename T>
void AppendValues(const std::vector<T>& values, std::string* out) {
  out->append(reinterpret_cast<const char*>(values.data()),
              values.size() * sizeof(T));
}

// Reads sections in order from the bytes after the header.
class SectionReader {
 public:
  SectionReader(const std::string& bytes, size_t offset,
                const std::string& path)
      : bytes_(bytes), offset_(offset), path_(path) {}

  template <typename T>
  std::vector<T> Take(uint64_t count, const char* name) {
    const uint64_t left = bytes_.size() - offset_;
    if (count > left / sizeof(T)) {
      throw std::runtime_error(path_ +
                               ": the checkpoint is truncated (section '" +
                               name + "' runs past the end)");
    }
    std::vector<T> values(count);
    std::memcpy(values.data(), bytes_.data() + offset_, count * sizeof(T));
    offset_ += count * sizeof(T);
    return values;
  }
  bool AtEnd() const { return offset_ == bytes_.size(); }

 private:
  const std::string& bytes_;
  size_t offset_;
  const std::string& path_;
};

uint64_t Size(const nlohmann::json& sizes, const char* name) {
  return sizes.at(name).get<uint64_t>();
}

}  // namespace

void SaveCharLmCheckpoint(const CharLmCheckpoint& checkpoint,
                          const std::string& path) {
  nlohmann::json header = {{"position", checkpoint.position},
                           {"optimizer_steps", checkpoint.optimizer.steps},
                           {"sizes",
                            {{"model", checkpoint.model_file.size()},
                             {"first", checkpoint.optimizer.first.size()},
                             {"second", checkpoint.optimizer.second.size()},
                             {"h", checkpoint.h.size()},
                             {"c", checkpoint.c.size()}}}};
  const std::string header_text = header.dump();
  std::string bytes(kMagic, kMagicSize);
  AppendU64(header_text.size(), &bytes);
  bytes += header_text;
  AppendValues(checkpoint.model_file, &bytes);
  AppendValues(checkpoint.optimizer.first, &bytes);
  AppendValues(checkpoint.optimizer.second, &bytes);
  AppendValues(checkpoint.h, &bytes);
  AppendValues(checkpoint.c, &bytes);
  const std::string temporary = path + ".tmp";
  WriteTextFile(temporary, bytes);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw std::runtime_error(path + ": cannot replace the checkpoint");
  }
}

CharLmCheckpoint LoadCharLmCheckpoint(const std::string& path) {
  const std::string bytes = ReadInputFile(path);
  if (bytes.size() < kMagicSize + 8 ||
      bytes.compare(0, kMagicSize, kMagic) != 0) {
    throw std::runtime_error(path + ": not a charlm checkpoint");
  }
  uint64_t header_size = 0;
  for (int byte = 0; byte < 8; ++byte) {
    header_size |=
        uint64_t{static_cast<unsigned char>(bytes[kMagicSize + byte])}
        << (8 * byte);
  }
  const size_t header_start = kMagicSize + 8;
  if (header_size > bytes.size() - header_start) {
    throw std::runtime_error(path +
                             ": the checkpoint's header runs past the end");
  }
  const nlohmann::json header = nlohmann::json::parse(
      bytes.substr(header_start, header_size), nullptr, false);
  CharLmCheckpoint checkpoint;
  try {
    const nlohmann::json& sizes = header.at("sizes");
    SectionReader reader(bytes, header_start + header_size, path);
    checkpoint.position = header.at("position");
    checkpoint.optimizer.steps = header.at("optimizer_steps").get<int64_t>();
    checkpoint.model_file = reader.Take<uint8_t>(Size(sizes, "model"), "model");
    checkpoint.optimizer.first =
        reader.Take<float>(Size(sizes, "first"), "first");
    checkpoint.optimizer.second =
        reader.Take<float>(Size(sizes, "second"), "second");
    checkpoint.h = reader.Take<float>(Size(sizes, "h"), "h");
    checkpoint.c = reader.Take<float>(Size(sizes, "c"), "c");
    if (!reader.AtEnd()) {
      throw std::runtime_error(
          path + ": the checkpoint has bytes after its last section");
    }
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error(path + ": the checkpoint's header is damaged");
  }
  return checkpoint;
}

}  // namespace lstmkit::cli
