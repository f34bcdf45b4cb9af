// lstmkit model files: a safetensors container whose tensors are the model's
// parameters under their PyTorch names and whose metadata holds the config,
// the format version and a CRC-32 of the data. Checkpoints are model files
// with the training state added (checkpoint_file.h). This layer works on
// configs and flat parameter vectors, not on Model objects, so that the
// fuzzer can drive it without the compute kernels.
#ifndef LSTMKIT_SRC_MODEL_FILE_H_
#define LSTMKIT_SRC_MODEL_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "byte_source.h"
#include "lstmkit/lstmkit.hpp"
#include "parameter_layout.h"
#include "safetensors.h"

namespace lstmkit::internal {

// The newest format version this lstmkit reads. Version 2 added the
// nn.LSTM options (bidirectional, proj_size, dropout, batch_first); a file
// that uses none of them is written as version 1.
constexpr int kModelFileFormatVersion = 2;
constexpr int kOptionsFormatVersion = 2;

// Metadata keys. Every key lstmkit writes starts with this prefix; callers'
// own entries must not.
constexpr char kReservedPrefix[] = "lstmkit.";
constexpr char kFormatVersionKey[] = "lstmkit.format_version";
constexpr char kKindKey[] = "lstmkit.kind";
constexpr char kChecksumKey[] = "lstmkit.checksum";
// Checkpoints only: the optimizer's settings and step count, and the
// trainer's position, each a JSON object in a string.
constexpr char kOptimizerKey[] = "lstmkit.optimizer";
constexpr char kTrainerKey[] = "lstmkit.trainer";

// Tensors of a checkpoint that are not parameters start with one of these.
constexpr char kOptimizerTensorPrefix[] = "optimizer.";
constexpr char kTrainerTensorPrefix[] = "trainer.";

enum class FileKind { kModel, kCheckpoint };

struct ModelFileHeader {
  SafetensorsHeader container;
  ModelConfig config;
  // A plain safetensors file (no lstmkit metadata): the config comes from
  // the tensors' names and shapes (bidirectional from _reverse names, the
  // projection from weight_hr), with an identity head on every step, no
  // dropout and time-major data.
  bool config_inferred = false;
  int format_version = 0;  // 0 for plain files
  FileKind kind = FileKind::kModel;
  bool has_checksum = false;
  uint32_t checksum = 0;
  Metadata extra_metadata;    // the entries outside the reserved prefix
  Metadata lstmkit_metadata;  // the reserved entries, as found
};

// Reads and checks the header of a model file or checkpoint: the container
// (safetensors.h), the lstmkit metadata or the config inferred from names,
// and each parameter tensor's presence, dtype (F32 or BF16) and shape
// against the config. Reads no tensor data. A checkpoint's training tensors
// are left to checkpoint_file.h.
ModelFileHeader ReadModelFileHeader(ByteSource& source);

// Reads every tensor in file order, verifies the checksum when the file has
// one, and returns the parameters in layout order, widened to float32.
// Tensors that are not parameters go to other_tensors (may be empty); their
// bytes count for the checksum either way.
std::vector<float> ReadModelParameters(ByteSource& source,
                                       const ModelFileHeader& header,
                                       const TensorSink& other_tensors = {});

// The CRC-32 of the data section as it is, without checking anything.
uint32_t ComputeDataChecksum(ByteSource& source, const ModelFileHeader& header);

// Little-endian F32 or BF16 bytes to float32 (size bytes of whole
// elements), and back (BF16 rounded to nearest even).
void DecodeFloats(Dtype dtype, const uint8_t* bytes, size_t size, float* out);
void EncodeFloats(Dtype dtype, const float* values, size_t count, uint8_t* out);

// The parameter tensors of a model, encoded as dtype (F32 or BF16).
std::vector<TensorToWrite> ParameterTensors(const ParameterLayout& layout,
                                            const float* parameters,
                                            Dtype dtype);

// The metadata of a model file of this config and kind, with the caller's
// extra entries (checked: no reserved keys). The checksum is added by
// WriteSafetensors.
Metadata ModelMetadata(const ModelConfig& config, FileKind kind,
                       const Metadata& extra);

// A complete model file.
std::vector<uint8_t> EncodeModelFile(const ModelConfig& config,
                                     Span<const float> parameters, Dtype dtype,
                                     const Metadata& extra);

// "[16, 3]" for messages.
std::string ShapeText(const std::vector<int64_t>& shape);

// "input_size 3, hidden_size 4, num_layers 2, output_size 1, ..." for
// messages and descriptions.
std::string DescribeConfig(const ModelConfig& config);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_MODEL_FILE_H_
