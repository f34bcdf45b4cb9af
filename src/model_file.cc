#include "model_file.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <iterator>

#include "bfloat16.h"
#include "check.h"
#include "crc32.h"

namespace lstmkit::internal {

namespace {

constexpr char kInputSizeKey[] = "lstmkit.input_size";
constexpr char kHiddenSizeKey[] = "lstmkit.hidden_size";
constexpr char kNumLayersKey[] = "lstmkit.num_layers";
constexpr char kOutputSizeKey[] = "lstmkit.output_size";
constexpr char kOutputActivationKey[] = "lstmkit.output_activation";
constexpr char kOutputStepsKey[] = "lstmkit.output_steps";
// The nn.LSTM options beyond the sizes, which format version 2 added. A
// reader of version 1 refuses keys it does not know, but tools/
// lstmkit_file.py of that version ignores them and would read a
// bidirectional file as a unidirectional one, or drop batch_first: so a
// file that uses an option is version 2, which both refuse ("update
// lstmkit"). Each key is written only when its option differs from the
// default, and a file that uses none is version 1, byte for byte what
// earlier versions wrote and readable by them. A key that is absent means
// the default.
constexpr char kBidirectionalKey[] = "lstmkit.bidirectional";
constexpr char kProjSizeKey[] = "lstmkit.proj_size";
constexpr char kDropoutKey[] = "lstmkit.dropout";
constexpr char kBatchFirstKey[] = "lstmkit.batch_first";

// PyTorch's parameter names of one direction of a layer, without the layer
// index, in its state_dict order; weight_hr only with a projection.
constexpr const char* kLayerTensorPrefixes[] = {
    "weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l", "weight_hr_l"};
constexpr size_t kWeightHrKind = 4;
constexpr char kReverseSuffix[] = "_reverse";
constexpr char kHeadWeight[] = "head.weight";
constexpr char kHeadBias[] = "head.bias";

std::string Quote(const std::string& text) { return QuoteForMessage(text); }

bool StartsWith(const std::string& text, const char* prefix) {
  return text.compare(0, std::strlen(prefix), prefix) == 0;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Decimal digits as lstmkit writes them: no sign, spaces or leading zeros.
bool ParseDecimal(const std::string& text, long long max_value,
                  long long* value) {
  if (text.empty() || text.size() > 18 || (text.size() > 1 && text[0] == '0'))
    return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  long long parsed = 0;
  std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (parsed > max_value) return false;
  *value = parsed;
  return true;
}

// ---- The config from lstmkit metadata ---------------------------------------

const std::string& RequireEntry(const std::string& source, const Metadata& m,
                                const char* key) {
  const auto found = m.find(key);
  if (found == m.end()) Fail(source, ": metadata ", key, " is missing");
  return found->second;
}

int RequireIntEntry(const std::string& source, const Metadata& m,
                    const char* key) {
  const std::string& text = RequireEntry(source, m, key);
  long long value = 0;
  if (!ParseDecimal(text, INT_MAX, &value)) {
    Fail(source, ": metadata ", key,
         " must be a decimal integer in [0, 2^31), got ", Quote(text));
  }
  return static_cast<int>(value);
}

OutputActivation ParseActivation(const std::string& source, const Metadata& m) {
  const std::string& text = RequireEntry(source, m, kOutputActivationKey);
  if (text == "identity") return OutputActivation::kIdentity;
  if (text == "softmax") return OutputActivation::kSoftmax;
  Fail(source, ": metadata ", kOutputActivationKey,
       " must be \"identity\" or \"softmax\", got ", Quote(text));
}

bool OptionalBoolEntry(const std::string& source, const Metadata& m,
                       const char* key) {
  const auto found = m.find(key);
  if (found == m.end()) return false;
  if (found->second == "true") return true;
  if (found->second == "false") return false;
  Fail(source, ": metadata ", key, " must be \"true\" or \"false\", got ",
       Quote(found->second));
}

int OptionalIntEntry(const std::string& source, const Metadata& m,
                     const char* key) {
  return m.count(key) > 0 ? RequireIntEntry(source, m, key) : 0;
}

// A probability as FormatProbability writes it (any decimal or scientific
// form is accepted), in [0, 1).
float OptionalProbabilityEntry(const std::string& source, const Metadata& m,
                               const char* key) {
  const auto found = m.find(key);
  if (found == m.end()) return 0.0f;
  const std::string& text = found->second;
  float value = 0.0f;
  const char* end = text.data() + text.size();
  const auto parsed = std::from_chars(text.data(), end, value);
  const bool number = !text.empty() && parsed.ec == std::errc() &&
                      parsed.ptr == end && std::isfinite(value);
  if (!number || !(value >= 0.0f && value < 1.0f)) {
    Fail(source, ": metadata ", key,
         " must be a decimal number in [0, 1), got ", Quote(text));
  }
  // "-0" reads as -0.0, which the writer would not write back.
  return value == 0.0f ? 0.0f : value;
}

// The shortest printf "%.{p}g" text that reads back as the same float, as
// tools/lstmkit_file.py writes it, so that both write the same bytes.
// to_chars and from_chars ignore the locale, whose decimal comma would
// otherwise end up in files.
std::string FormatProbability(float value) {
  char text[32];
  size_t length = 0;
  for (int precision = 1; precision <= 9; ++precision) {
    const auto written =
        std::to_chars(text, text + sizeof(text), static_cast<double>(value),
                      std::chars_format::general, precision);
    length = static_cast<size_t>(written.ptr - text);
    float back = 0.0f;
    std::from_chars(text, written.ptr, back);
    if (back == value) break;
  }
  return std::string(text, length);
}

OutputSteps ParseSteps(const std::string& source, const Metadata& m) {
  const std::string& text = RequireEntry(source, m, kOutputStepsKey);
  if (text == "every") return OutputSteps::kEveryStep;
  if (text == "last") return OutputSteps::kLastStep;
  Fail(source, ": metadata ", kOutputStepsKey,
       " must be \"every\" or \"last\", got ", Quote(text));
}

constexpr const char* kOptionKeys[] = {kBidirectionalKey, kProjSizeKey,
                                       kDropoutKey, kBatchFirstKey};

void RequireKnownKeys(const std::string& source, const Metadata& reserved,
                      FileKind kind, int version) {
  static const char* const kModelKeys[] = {
      kFormatVersionKey, kKindKey,      kChecksumKey,   kInputSizeKey,
      kHiddenSizeKey,    kNumLayersKey, kOutputSizeKey, kOutputActivationKey,
      kOutputStepsKey};
  for (const auto& entry : reserved) {
    bool known = kind == FileKind::kCheckpoint &&
                 (entry.first == kOptimizerKey || entry.first == kTrainerKey);
    for (const char* key : kModelKeys) known = known || entry.first == key;
    for (const char* key : kOptionKeys) {
      known = known || (version >= kOptionsFormatVersion && entry.first == key);
    }
    if (!known) {
      Fail(source, ": unknown metadata key ", Quote(entry.first),
           " (keys starting with \"", kReservedPrefix,
           "\" are lstmkit's own; format version ", version,
           " does not define this one)");
    }
  }
}

bool UsesOptions(const ModelConfig& config) {
  return config.bidirectional || config.proj_size > 0 ||
         config.dropout != 0.0f || config.batch_first;
}

void ParseLstmkitMetadata(const std::string& source, ModelFileHeader* header) {
  const Metadata& m = header->lstmkit_metadata;
  if (m.find(kFormatVersionKey) == m.end()) {
    Fail(source, ": metadata has lstmkit keys (", Quote(m.begin()->first),
         ") but no ", kFormatVersionKey);
  }
  const int version = RequireIntEntry(source, m, kFormatVersionKey);
  if (version > kModelFileFormatVersion) {
    Fail(source, ": written in lstmkit file format version ", version,
         "; this lstmkit reads versions 1 to ", kModelFileFormatVersion,
         " (update lstmkit)");
  }
  if (version < 1) Fail(source, ": file format version 0 does not exist");
  header->format_version = version;
  const std::string& kind = RequireEntry(source, m, kKindKey);
  if (kind == "model") {
    header->kind = FileKind::kModel;
  } else if (kind == "checkpoint") {
    header->kind = FileKind::kCheckpoint;
  } else {
    Fail(source, ": metadata ", kKindKey,
         " must be \"model\" or \"checkpoint\", got ", Quote(kind));
  }
  RequireKnownKeys(source, m, header->kind, version);
  ModelConfig& config = header->config;
  config.input_size = RequireIntEntry(source, m, kInputSizeKey);
  config.hidden_size = RequireIntEntry(source, m, kHiddenSizeKey);
  config.num_layers = RequireIntEntry(source, m, kNumLayersKey);
  config.output_size = RequireIntEntry(source, m, kOutputSizeKey);
  config.output_activation = ParseActivation(source, m);
  config.output_steps = ParseSteps(source, m);
  config.bidirectional = OptionalBoolEntry(source, m, kBidirectionalKey);
  config.proj_size = OptionalIntEntry(source, m, kProjSizeKey);
  config.dropout = OptionalProbabilityEntry(source, m, kDropoutKey);
  config.batch_first = OptionalBoolEntry(source, m, kBatchFirstKey);
  const auto checksum = m.find(kChecksumKey);
  if (checksum != m.end()) {
    if (!ParseCrc32(checksum->second, &header->checksum)) {
      Fail(source, ": metadata ", kChecksumKey,
           " must be \"crc32:\" and 8 lower-case hex digits, got ",
           Quote(checksum->second));
    }
    header->has_checksum = true;
  }
}

// ---- Parameter names --------------------------------------------------------

struct ParameterName {
  bool head = false;
  // For the layer tensors: which of kLayerTensorPrefixes, the layer, and
  // whether it belongs to the reverse direction.
  size_t kind = 0;
  int layer = 0;
  bool reverse = false;
};

// weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k},
// weight_hr_l{k}, each optionally followed by _reverse, head.weight,
// head.bias; k without leading zeros, as PyTorch writes it.
bool ParseParameterName(const std::string& name, ParameterName* parsed) {
  if (name == kHeadWeight || name == kHeadBias) {
    parsed->head = true;
    return true;
  }
  for (size_t kind = 0; kind < std::size(kLayerTensorPrefixes); ++kind) {
    const char* prefix = kLayerTensorPrefixes[kind];
    if (!StartsWith(name, prefix)) continue;
    std::string index = name.substr(std::strlen(prefix));
    const bool reverse = EndsWith(index, kReverseSuffix);
    if (reverse) index.resize(index.size() - std::strlen(kReverseSuffix));
    long long layer = 0;
    if (!ParseDecimal(index, INT_MAX - 1, &layer)) return false;
    parsed->head = false;
    parsed->kind = kind;
    parsed->layer = static_cast<int>(layer);
    parsed->reverse = reverse;
    return true;
  }
  return false;
}

std::string LayerTensorName(size_t kind, int layer, bool reverse) {
  return kLayerTensorPrefixes[kind] + std::to_string(layer) +
         (reverse ? kReverseSuffix : "");
}

// Why a name is not a parameter, with the likely fix.
[[noreturn]] void FailUnknownTensor(const std::string& source,
                                    const std::string& name) {
  const std::string where = source + ": tensor " + Quote(name);
  for (const char* prefix : kLayerTensorPrefixes) {
    const size_t at = name.find(prefix);
    if (at != std::string::npos && at > 0) {
      Fail(where, " has a prefix before ", Quote(name.substr(at)),
           ": store PyTorch's nn.LSTM names without one (tools/"
           "export_pytorch.py --lstm-prefix converts such state_dicts)");
    }
  }
  if (EndsWith(name, ".weight") || EndsWith(name, ".bias")) {
    Fail(where,
         " is not a parameter; a dense head must be named head.weight "
         "and head.bias (tools/export_pytorch.py --head-prefix renames "
         "it)");
  }
  Fail(where,
       " is not an LSTM parameter; expected weight_ih_l{k}, "
       "weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, weight_hr_l{k} (each "
       "also with _reverse), head.weight, head.bias");
}

bool IsTrainingTensor(const ModelFileHeader& header, const std::string& name) {
  return header.kind == FileKind::kCheckpoint &&
         (StartsWith(name, kOptimizerTensorPrefix) ||
          StartsWith(name, kTrainerTensorPrefix));
}

int DimensionAsInt(const std::string& source, const TensorEntry& tensor,
                   size_t axis) {
  const int64_t d = tensor.shape[axis];
  if (d > INT_MAX) {
    Fail(source, ": tensor ", Quote(tensor.name), " has shape ",
         ShapeText(tensor.shape), "; dimension ", axis, " is too large");
  }
  return static_cast<int>(d);
}

const TensorEntry& RequireMatrix(const std::string& source,
                                 const SafetensorsHeader& container,
                                 const std::string& name) {
  const TensorEntry* tensor = container.Find(name);
  if (tensor == nullptr) {
    Fail(source, ": tensor \"", name,
         "\" is missing; without lstmkit "
         "metadata the config is inferred from it");
  }
  if (tensor->shape.size() != 2) {
    Fail(source, ": tensor \"", name, "\" must be a matrix, got shape ",
         ShapeText(tensor->shape));
  }
  return *tensor;
}

// A plain safetensors file (such as one saved from an nn.LSTM state_dict):
// the layer count from the names, bidirectional when any name ends in
// _reverse, a projection when there are weight_hr tensors, the sizes from
// the shapes of layer 0's forward tensors (weight_hr_l0 is [P, H], and
// weight_hh_l0 [4H, P] with a projection, [4H, H] without). batch_first
// and dropout are not in a state_dict: they keep their defaults. The full
// shape check against the config follows in RequireParameterTensors.
ModelConfig InferConfig(const std::string& source,
                        const SafetensorsHeader& container) {
  int layers = 0;
  bool reverse = false;
  bool projection = false;
  for (const TensorEntry& t : container.tensors) {
    ParameterName parsed;
    if (!ParseParameterName(t.name, &parsed)) FailUnknownTensor(source, t.name);
    if (parsed.head) continue;
    layers = std::max(layers, parsed.layer + 1);
    reverse = reverse || parsed.reverse;
    projection = projection || parsed.kind == kWeightHrKind;
  }
  ModelConfig config;
  const TensorEntry& w_ih = RequireMatrix(source, container, "weight_ih_l0");
  const TensorEntry& w_hh = RequireMatrix(source, container, "weight_hh_l0");
  config.input_size = DimensionAsInt(source, w_ih, 1);
  config.hidden_size = DimensionAsInt(source, w_hh, 1);
  if (projection) {
    const TensorEntry& w_hr = RequireMatrix(source, container, "weight_hr_l0");
    config.proj_size = DimensionAsInt(source, w_hr, 0);
    config.hidden_size = DimensionAsInt(source, w_hr, 1);
  }
  config.num_layers = layers;
  config.bidirectional = reverse;
  const bool has_head_bias = container.Find(kHeadBias) != nullptr;
  if (container.Find(kHeadWeight) != nullptr) {
    config.output_size = DimensionAsInt(
        source, RequireMatrix(source, container, kHeadWeight), 0);
  } else if (has_head_bias) {
    Fail(source, ": tensor \"head.bias\" has no \"head.weight\"");
  }
  return config;
}

void ValidateFileConfig(const std::string& source, const ModelConfig& config) {
  try {
    ValidateConfig(config);
  } catch (const Error& e) {
    std::string message = e.what();
    const std::string prefix = "lstmkit: ";
    if (StartsWith(message, prefix.c_str())) message.erase(0, prefix.size());
    Fail(source, ": the file's config is invalid: ", message);
  }
}

bool IsParameterOf(const ModelConfig& config, const ParameterName& name) {
  if (name.head) return config.output_size > 0;
  return name.layer < config.num_layers &&
         (!name.reverse || config.bidirectional) &&
         (name.kind != kWeightHrKind || config.proj_size > 0);
}

// Every tensor that is not a checkpoint's training state must be a
// parameter of the config, and every parameter must be there, as F32 or
// BF16, in the config's shape. The names are checked before the layout is
// built, so that a config claiming a million layers costs nothing unless
// the file really holds their tensors.
void RequireParameterTensors(const std::string& source,
                             const ModelFileHeader& header) {
  const ModelConfig& config = header.config;
  const SafetensorsHeader& container = header.container;
  for (const TensorEntry& t : container.tensors) {
    if (IsTrainingTensor(header, t.name)) continue;
    ParameterName parsed;
    if (!ParseParameterName(t.name, &parsed)) FailUnknownTensor(source, t.name);
    if (!IsParameterOf(config, parsed)) {
      Fail(source, ": tensor ", Quote(t.name),
           " is not a parameter of the file's config (", DescribeConfig(config),
           ")");
    }
  }
  // Every name present is expected and names are unique, so with fewer
  // tensors than the config needs the loop stops at a missing one within
  // (tensors in the file) / 4 + 1 layers.
  const size_t kinds = config.proj_size > 0 ? 5 : 4;
  for (int layer = 0; layer < config.num_layers; ++layer) {
    for (int dir = 0; dir < (config.bidirectional ? 2 : 1); ++dir) {
      for (size_t kind = 0; kind < kinds; ++kind) {
        const std::string name = LayerTensorName(kind, layer, dir == 1);
        if (container.Find(name) == nullptr) {
          Fail(source, ": tensor \"", name, "\" is missing (",
               DescribeConfig(config), ")");
        }
      }
    }
  }
  for (const char* name : {kHeadWeight, kHeadBias}) {
    if (config.output_size > 0 && container.Find(name) == nullptr) {
      Fail(source, ": tensor \"", name, "\" is missing (",
           DescribeConfig(config), ")");
    }
  }
  const ParameterLayout layout(config);
  for (const TensorInfo& info : layout.tensors()) {
    const TensorEntry& t = *container.Find(info.name);
    if (t.dtype != Dtype::kF32 && t.dtype != Dtype::kBF16) {
      Fail(source, ": tensor \"", info.name, "\" has dtype ",
           DtypeName(t.dtype), "; lstmkit reads F32 and BF16");
    }
    const std::vector<int64_t> expected(info.shape.begin(), info.shape.end());
    if (t.shape != expected) {
      Fail(source, ": tensor \"", info.name, "\" has shape ",
           ShapeText(t.shape), "; the config (", DescribeConfig(config),
           ") needs ", ShapeText(expected));
    }
  }
}

}  // namespace

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  }
  return text + "]";
}

std::string DescribeConfig(const ModelConfig& config) {
  return "input_size " + std::to_string(config.input_size) + ", hidden_size " +
         std::to_string(config.hidden_size) + ", num_layers " +
         std::to_string(config.num_layers) + ", output_size " +
         std::to_string(config.output_size) + ", output_activation " +
         (config.output_activation == OutputActivation::kSoftmax ? "softmax"
                                                                 : "identity") +
         ", output_steps " +
         (config.output_steps == OutputSteps::kLastStep ? "last" : "every") +
         ", bidirectional " + (config.bidirectional ? "true" : "false") +
         ", proj_size " + std::to_string(config.proj_size) + ", dropout " +
         FormatProbability(config.dropout) + ", batch_first " +
         (config.batch_first ? "true" : "false");
}

void DecodeFloats(Dtype dtype, const uint8_t* bytes, size_t size, float* out) {
  if (dtype == Dtype::kF32) {
    for (size_t i = 0; i < size / 4; ++i, bytes += 4) {
      const uint32_t bits = uint32_t{bytes[0]} | uint32_t{bytes[1]} << 8 |
                            uint32_t{bytes[2]} << 16 | uint32_t{bytes[3]} << 24;
      std::memcpy(out + i, &bits, sizeof(bits));
    }
  } else {
    for (size_t i = 0; i < size / 2; ++i, bytes += 2) {
      out[i] = Bfloat16ToFloat(
          static_cast<uint16_t>(bytes[0] | uint32_t{bytes[1]} << 8));
    }
  }
}

void EncodeFloats(Dtype dtype, const float* values, size_t count,
                  uint8_t* out) {
  for (size_t i = 0; i < count; ++i) {
    if (dtype == Dtype::kF32) {
      uint32_t bits;
      std::memcpy(&bits, values + i, sizeof(bits));
      for (int b = 0; b < 4; ++b) *out++ = static_cast<uint8_t>(bits >> 8 * b);
    } else {
      const uint16_t bits = FloatToBfloat16(values[i]);
      *out++ = static_cast<uint8_t>(bits);
      *out++ = static_cast<uint8_t>(bits >> 8);
    }
  }
}

ModelFileHeader ReadModelFileHeader(ByteSource& source) {
  const std::string& name = source.name();
  ModelFileHeader header;
  header.container = ReadSafetensorsHeader(source);
  for (const auto& entry : header.container.metadata) {
    Metadata& target = StartsWith(entry.first, kReservedPrefix)
                           ? header.lstmkit_metadata
                           : header.extra_metadata;
    target.insert(entry);
  }
  if (header.lstmkit_metadata.empty()) {
    header.config = InferConfig(name, header.container);
    header.config_inferred = true;
  } else {
    ParseLstmkitMetadata(name, &header);
  }
  ValidateFileConfig(name, header.config);
  RequireParameterTensors(name, header);
  return header;
}

std::vector<float> ReadModelParameters(ByteSource& source,
                                       const ModelFileHeader& header,
                                       const TensorSink& other_tensors) {
  const ParameterLayout layout(header.config);
  const std::vector<TensorEntry>& tensors = header.container.tensors;
  // The parameter offset of each file tensor, or -1 for other tensors.
  // ReadModelFileHeader made sure that every parameter is there.
  std::vector<long long> destination(tensors.size(), -1);
  for (const TensorInfo& info : layout.tensors()) {
    const TensorEntry* tensor = header.container.Find(info.name);
    Require(tensor != nullptr, "internal error: tensor ", info.name,
            " was not checked");
    destination[tensor - tensors.data()] = static_cast<long long>(info.offset);
  }
  std::vector<float> parameters(layout.total_size());
  const uint32_t crc = ReadTensorData(
      source, header.container,
      [&](const TensorEntry& t, uint64_t offset_bytes, const uint8_t* bytes,
          size_t size) {
        const long long offset = destination[&t - tensors.data()];
        if (offset < 0) {
          if (other_tensors) other_tensors(t, offset_bytes, bytes, size);
          return;
        }
        DecodeFloats(
            t.dtype, bytes, size,
            parameters.data() + offset + offset_bytes / DtypeSize(t.dtype));
      });
  if (header.has_checksum && crc != header.checksum) {
    Fail(source.name(), ": checksum mismatch: the file records ",
         FormatCrc32(header.checksum), " but its data gives ", FormatCrc32(crc),
         "; the file is damaged");
  }
  return parameters;
}

uint32_t ComputeDataChecksum(ByteSource& source,
                             const ModelFileHeader& header) {
  return ReadTensorData(
      source, header.container,
      [](const TensorEntry&, uint64_t, const uint8_t*, size_t) {});
}

std::vector<TensorToWrite> ParameterTensors(const ParameterLayout& layout,
                                            const float* parameters,
                                            Dtype dtype) {
  Require(dtype == Dtype::kF32 || dtype == Dtype::kBF16,
          "internal error: parameters are written as F32 or BF16");
  std::vector<TensorToWrite> tensors;
  for (const TensorInfo& info : layout.tensors()) {
    const float* values = parameters + info.offset;
    const size_t count = info.size;
    tensors.push_back(
        {info.name, dtype,
         std::vector<int64_t>(info.shape.begin(), info.shape.end()),
         [values, count, dtype](uint8_t* out) {
           EncodeFloats(dtype, values, count, out);
         }});
  }
  return tensors;
}

Metadata ModelMetadata(const ModelConfig& config, FileKind kind,
                       const Metadata& extra) {
  Metadata metadata;
  for (const auto& entry : extra) {
    Require(!StartsWith(entry.first, kReservedPrefix), "metadata key ",
            Quote(entry.first), " is reserved: keys starting with \"",
            kReservedPrefix, "\" are lstmkit's own");
    metadata.insert(entry);
  }
  metadata[kFormatVersionKey] =
      std::to_string(UsesOptions(config) ? kOptionsFormatVersion : 1);
  metadata[kKindKey] = kind == FileKind::kModel ? "model" : "checkpoint";
  metadata[kInputSizeKey] = std::to_string(config.input_size);
  metadata[kHiddenSizeKey] = std::to_string(config.hidden_size);
  metadata[kNumLayersKey] = std::to_string(config.num_layers);
  metadata[kOutputSizeKey] = std::to_string(config.output_size);
  metadata[kOutputActivationKey] =
      config.output_activation == OutputActivation::kSoftmax ? "softmax"
                                                             : "identity";
  metadata[kOutputStepsKey] =
      config.output_steps == OutputSteps::kLastStep ? "last" : "every";
  if (config.bidirectional) metadata[kBidirectionalKey] = "true";
  if (config.proj_size > 0) {
    metadata[kProjSizeKey] = std::to_string(config.proj_size);
  }
  if (config.dropout != 0.0f) {
    metadata[kDropoutKey] = FormatProbability(config.dropout);
  }
  if (config.batch_first) metadata[kBatchFirstKey] = "true";
  return metadata;
}

std::vector<uint8_t> EncodeModelFile(const ModelConfig& config,
                                     Span<const float> parameters, Dtype dtype,
                                     const Metadata& extra) {
  const ParameterLayout layout(config);
  Require(parameters.size() == layout.total_size(),
          "internal error: the model has ", parameters.size(),
          " parameters, its layout ", layout.total_size());
  return WriteSafetensors(ParameterTensors(layout, parameters.data(), dtype),
                          ModelMetadata(config, FileKind::kModel, extra),
                          kChecksumKey);
}

}  // namespace lstmkit::internal
