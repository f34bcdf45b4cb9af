// SaveModel, LoadModel and their buffer forms: Model objects to and from
// model files.
#include <algorithm>

#include "atomic_file.h"
#include "byte_source.h"
#include "check.h"
#include "model_file.h"

namespace lstmkit {

namespace {

internal::Dtype FileDtypeToDtype(FileDtype dtype) {
  switch (dtype) {
    case FileDtype::kF32:
      return internal::Dtype::kF32;
    case FileDtype::kBF16:
      return internal::Dtype::kBF16;
  }
  internal::Fail("options.dtype must be FileDtype::kF32 or kBF16, got ",
                 static_cast<int>(dtype));
}

Model ReadModel(internal::ByteSource& source, FileMetadata* metadata) {
  const internal::ModelFileHeader header =
      internal::ReadModelFileHeader(source);
  const std::vector<float> parameters =
      internal::ReadModelParameters(source, header);
  Model model(header.config);
  std::copy(parameters.begin(), parameters.end(), model.parameters().begin());
  model.parameters_changed();
  if (metadata != nullptr) *metadata = header.extra_metadata;
  return model;
}

}  // namespace

std::vector<uint8_t> SaveModelToBuffer(const Model& model,
                                       const SaveOptions& options) {
  return internal::EncodeModelFile(model.config(), model.parameters(),
                                   FileDtypeToDtype(options.dtype),
                                   options.metadata);
}

void SaveModel(const Model& model, const std::string& path,
               const SaveOptions& options) {
  internal::Require(!path.empty(), "path must not be empty");
  const std::vector<uint8_t> bytes = SaveModelToBuffer(model, options);
  internal::WriteFileAtomically(path, bytes.data(), bytes.size());
}

Model LoadModel(const std::string& path, FileMetadata* metadata) {
  internal::FileSource source(path);
  return ReadModel(source, metadata);
}

Model LoadModelFromBuffer(Span<const uint8_t> bytes, FileMetadata* metadata) {
  internal::MemorySource source(bytes.data(), bytes.size());
  return ReadModel(source, metadata);
}

}  // namespace lstmkit
