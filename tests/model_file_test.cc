// Model files: saving and loading (F32 bitwise, BF16 rounded to nearest
// even), metadata, plain safetensors files with PyTorch names, atomic saves,
// descriptions, and one test per way a file can be damaged or hostile, each
// checking that the error names the file, the tensor and the problem.
#include "model_file.h"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bfloat16.h"
#include "byte_source.h"
#include "crc32.h"
#include "file_test_util.h"
#include "lstmkit/lstmkit.hpp"
#include "model_file_info.h"
#include "safetensors.h"
#include "test_util.h"

namespace lstmkit {
namespace {

using internal::Dtype;
using nlohmann::json;
using testing::Parameters;
using testing::ReadBytes;
using testing::TempDirectory;
using testing::ThrowsError;
using testing::WriteBytes;

// I = 3, H = 4, L = 2, O = 2.
ModelConfig SmallConfig() {
  ModelConfig config;
  config.input_size = 3;
  config.hidden_size = 4;
  config.num_layers = 2;
  config.output_size = 2;
  return config;
}

uint32_t FloatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float FloatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

Input SmallInput(const std::vector<float>& x) {
  Input input;
  input.seq_len = 5;
  input.batch = 2;
  input.x = x;
  return input;
}

// ---- Round trips ------------------------------------------------------------

TEST(ModelFileRoundTrip, F32IsBitwiseAndKeepsConfigAndMetadata) {
  ModelConfig config = SmallConfig();
  config.output_activation = OutputActivation::kSoftmax;
  config.output_steps = OutputSteps::kLastStep;
  const Model model(config, InitOptions{7});
  TempDirectory dir;
  const std::string path = dir.File("model.safetensors");
  SaveOptions options;
  options.metadata = {{"vocabulary", "a\nb\nc"},
                      {"mean", "0.25"},
                      {"unicode", "\xc3\xa9t\xc3\xa9"},
                      {"", "an empty key is a key"}};
  SaveModel(model, path, options);

  FileMetadata metadata;
  const Model loaded = LoadModel(path, &metadata);
  EXPECT_EQ(loaded.config().input_size, 3);
  EXPECT_EQ(loaded.config().hidden_size, 4);
  EXPECT_EQ(loaded.config().num_layers, 2);
  EXPECT_EQ(loaded.config().output_size, 2);
  EXPECT_EQ(loaded.config().output_activation, OutputActivation::kSoftmax);
  EXPECT_EQ(loaded.config().output_steps, OutputSteps::kLastStep);
  EXPECT_EQ(Parameters(loaded), Parameters(model));
  EXPECT_EQ(metadata, options.metadata);

  const std::vector<float> x = testing::RandomVector(5 * 2 * 3, 3);
  EXPECT_EQ(loaded.Forward(SmallInput(x)).y, model.Forward(SmallInput(x)).y);

  // The file holds what SaveModelToBuffer returns, and the buffer loads the
  // same way.
  const std::vector<uint8_t> bytes = SaveModelToBuffer(model, options);
  EXPECT_EQ(ReadBytes(path), bytes);
  FileMetadata buffer_metadata;
  EXPECT_EQ(Parameters(LoadModelFromBuffer(bytes, &buffer_metadata)),
            Parameters(model));
  EXPECT_EQ(buffer_metadata, options.metadata);
}

TEST(ModelFileRoundTrip, NonFiniteAndSignedZeroParametersKeepTheirBits) {
  Model model(SmallConfig(), InitOptions{1});
  Span<float> p = model.parameters();
  p[0] = -0.0f;
  p[1] = std::numeric_limits<float>::infinity();
  p[2] = FloatFromBits(0x7FC12345u);  // a NaN with a payload
  p[3] = std::numeric_limits<float>::denorm_min();
  model.parameters_changed();
  const Model loaded = LoadModelFromBuffer(SaveModelToBuffer(model));
  const Span<const float> q = loaded.parameters();
  for (size_t i = 0; i < p.size(); ++i) {
    ASSERT_EQ(FloatBits(q[i]), FloatBits(p[i])) << "parameter " << i;
  }
}

// I = 3, H = 4, L = 2, O = 2, bidirectional, h projected to P = 2, with
// dropout and batch-first data: every nn.LSTM option at once.
ModelConfig OptionsConfig() {
  ModelConfig config = SmallConfig();
  config.bidirectional = true;
  config.proj_size = 2;
  config.dropout = 0.3f;
  config.batch_first = true;
  return config;
}

void ExpectSameConfig(const ModelConfig& actual, const ModelConfig& expected) {
  EXPECT_EQ(internal::DescribeConfig(actual),
            internal::DescribeConfig(expected));
  EXPECT_EQ(actual.bidirectional, expected.bidirectional);
  EXPECT_EQ(actual.proj_size, expected.proj_size);
  EXPECT_EQ(actual.dropout, expected.dropout);
  EXPECT_EQ(actual.batch_first, expected.batch_first);
}

// The __metadata__ of a file, without checking anything else.
internal::Metadata FileMetadataOf(const std::vector<uint8_t>& file) {
  internal::MemorySource source(file.data(), file.size());
  return internal::ReadSafetensorsHeader(source).metadata;
}

ModelFileInfo InspectModelFileOf(const std::vector<uint8_t>& file) {
  internal::MemorySource source(file.data(), file.size());
  return internal::InspectModelFile(source);
}

TEST(ModelFileRoundTrip, EveryNnLstmOptionSurvives) {
  const Model model(OptionsConfig(), InitOptions{9});
  const std::vector<uint8_t> file = SaveModelToBuffer(model);
  const Model loaded = LoadModelFromBuffer(file);
  ExpectSameConfig(loaded.config(), OptionsConfig());
  EXPECT_EQ(loaded.parameter_names(), model.parameter_names());
  EXPECT_EQ(Parameters(loaded), Parameters(model));
  EXPECT_EQ(loaded.parameter_shape("weight_hr_l1_reverse"),
            (std::vector<int>{2, 4}));
  EXPECT_EQ(loaded.parameter_shape("head.weight"), (std::vector<int>{2, 4}));
  // Batch-first input [B = 2][T = 5][I = 3].
  const std::vector<float> x = testing::RandomVector(2 * 5 * 3, 4);
  const Output expected = model.Forward(SmallInput(x));
  const Output actual = loaded.Forward(SmallInput(x));
  EXPECT_EQ(actual.y, expected.y);
  EXPECT_EQ(actual.h_n, expected.h_n);

  const internal::Metadata metadata = FileMetadataOf(file);
  EXPECT_EQ(metadata.at("lstmkit.bidirectional"), "true");
  EXPECT_EQ(metadata.at("lstmkit.proj_size"), "2");
  EXPECT_EQ(metadata.at("lstmkit.dropout"), "0.3");
  EXPECT_EQ(metadata.at("lstmkit.batch_first"), "true");
  // Format version 2 added the options; a version-1 reader refuses it.
  EXPECT_EQ(metadata.at("lstmkit.format_version"), "2");
  EXPECT_EQ(InspectModelFileOf(file).format_version, 2);
  // The projection and the other options with one direction.
  ModelConfig forward_only = OptionsConfig();
  forward_only.bidirectional = false;
  const Model one(forward_only, InitOptions{2});
  const std::vector<uint8_t> one_file = SaveModelToBuffer(one);
  ExpectSameConfig(LoadModelFromBuffer(one_file).config(), forward_only);
  EXPECT_EQ(FileMetadataOf(one_file).count("lstmkit.bidirectional"), 0u);
  EXPECT_EQ(FileMetadataOf(one_file).at("lstmkit.format_version"), "2");
}

// The options are written only when they are not at their defaults, and
// a file without any is format version 1, as before the options existed:
// earlier readers still read every model they can compute.
TEST(ModelFileRoundTrip, DefaultOptionsWriteAVersion1File) {
  const internal::Metadata metadata =
      FileMetadataOf(SaveModelToBuffer(Model(SmallConfig(), InitOptions{1})));
  for (const char* key : {"lstmkit.bidirectional", "lstmkit.proj_size",
                          "lstmkit.dropout", "lstmkit.batch_first"}) {
    EXPECT_EQ(metadata.count(key), 0u) << key;
  }
  EXPECT_EQ(metadata.size(), 9u);  // the version-1 keys and the checksum
  EXPECT_EQ(metadata.at("lstmkit.format_version"), "1");
  // Each option on its own adds only its own key, and makes it version 2.
  ModelConfig dropout_only = SmallConfig();
  dropout_only.dropout = 0.5f;
  const internal::Metadata with_dropout =
      FileMetadataOf(SaveModelToBuffer(Model(dropout_only, InitOptions{1})));
  EXPECT_EQ(with_dropout.size(), 10u);
  EXPECT_EQ(with_dropout.at("lstmkit.dropout"), "0.5");
  EXPECT_EQ(with_dropout.at("lstmkit.format_version"), "2");
}

TEST(ModelFileRoundTrip, FilesWithoutOptionKeysLoadWithTheDefaults) {
  // A file as lstmkit wrote it before the options existed: the same bytes
  // as today's writer gives for a default config (checked above).
  const Model loaded = LoadModel(std::string(LSTMKIT_TEST_DATA_DIR) +
                                 "/interop_pytorch.safetensors");
  EXPECT_FALSE(loaded.config().bidirectional);
  EXPECT_EQ(loaded.config().proj_size, 0);
  EXPECT_EQ(loaded.config().dropout, 0.0f);
  EXPECT_FALSE(loaded.config().batch_first);
}

// The dropout probability is written as the shortest %g text that reads
// back as the same float32 (tools/lstmkit_file.py writes the same text).
TEST(ModelFileRoundTrip, DropoutTextIsShortAndExact) {
  struct Case {
    float dropout;
    const char* text;
  };
  const Case cases[] = {
      {0.1f, "0.1"},
      {0.25f, "0.25"},
      {0.3f, "0.3"},
      {1e-4f, "0.0001"},
      {1e-5f, "1e-05"},
      {0.999999f, "0.999999"},
      {0.123456789f, "0.12345679"},
      {std::nextafter(0.5f, 1.0f), "0.50000006"},
  };
  for (const Case& c : cases) {
    ModelConfig config = SmallConfig();
    config.dropout = c.dropout;
    const std::vector<uint8_t> file =
        SaveModelToBuffer(Model(config, InitOptions{1}));
    EXPECT_EQ(FileMetadataOf(file).at("lstmkit.dropout"), c.text);
    EXPECT_EQ(FloatBits(LoadModelFromBuffer(file).config().dropout),
              FloatBits(c.dropout))
        << c.text;
  }
}

TEST(ModelFileRoundTrip, Bf16StoresEachValueRoundedToNearestEven) {
  const Model model(SmallConfig(), InitOptions{11});
  SaveOptions options;
  options.dtype = FileDtype::kBF16;
  const std::vector<uint8_t> bf16 = SaveModelToBuffer(model, options);
  const std::vector<uint8_t> f32 = SaveModelToBuffer(model);
  const Model loaded = LoadModelFromBuffer(bf16);
  const std::vector<float> original = Parameters(model);
  const std::vector<float> widened = Parameters(loaded);
  ASSERT_EQ(widened.size(), original.size());
  size_t changed = 0;
  for (size_t i = 0; i < original.size(); ++i) {
    const float expected =
        internal::Bfloat16ToFloat(internal::FloatToBfloat16(original[i]));
    ASSERT_EQ(FloatBits(widened[i]), FloatBits(expected)) << "parameter " << i;
    // bfloat16 keeps 8 significant bits: the error is at most half a unit
    // in the last place, 2^-8 of the value's power of two, so at most 2^-8
    // relative.
    EXPECT_LE(std::abs(widened[i] - original[i]),
              std::abs(original[i]) * (1.0f / 256.0f));
    changed += widened[i] != original[i];
  }
  EXPECT_GT(changed, original.size() / 2);
  // The data section is half as large.
  auto data_size = [](const std::vector<uint8_t>& file) {
    internal::MemorySource source(file.data(), file.size());
    return internal::ReadSafetensorsHeader(source).data_size;
  };
  EXPECT_EQ(data_size(f32), 4 * original.size());
  EXPECT_EQ(data_size(bf16), 2 * original.size());
  // A BF16 file saved again as BF16 is the same file: widening is exact.
  EXPECT_EQ(SaveModelToBuffer(loaded, options), bf16);
}

TEST(Bfloat16, RoundsToNearestEvenLikePyTorch) {
  struct Case {
    uint32_t f32;
    uint16_t bf16;
  };
  const Case cases[] = {
      {0x3F800000u, 0x3F80u},  // 1: exact
      {0x3F807FFFu, 0x3F80u},  // just below half: down
      {0x3F808000u, 0x3F80u},  // tie, kept bit even: down
      {0x3F818000u, 0x3F82u},  // tie, kept bit odd: up to even
      {0x3F808001u, 0x3F81u},  // just above half: up
      {0xBF818000u, 0xBF82u},  // negative tie: away from zero to even
      {0x3FFF8000u, 0x4000u},  // the carry reaches the exponent
      {0x7F7FFFFFu, 0x7F80u},  // the largest float rounds to infinity
      {0x7F800000u, 0x7F80u},  // infinity stays
      {0xFF800000u, 0xFF80u},
      {0x00000001u, 0x0000u},  // the smallest denormal rounds to zero
      {0x80000000u, 0x8000u},  // -0
      {0x7FC00001u, 0x7FC0u},  // NaN: PyTorch's quiet NaN
      {0xFF812345u, 0x7FC0u},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(internal::FloatToBfloat16(FloatFromBits(c.f32)), c.bf16)
        << std::hex << "0x" << c.f32;
  }
  EXPECT_EQ(FloatBits(internal::Bfloat16ToFloat(0x3F82u)), 0x3F820000u);
}

TEST(Crc32, MatchesZlib) {
  // zlib.crc32(b"123456789") == 0xCBF43926, the standard check value.
  const std::string check = "123456789";
  EXPECT_EQ(internal::ComputeCrc32(
                reinterpret_cast<const uint8_t*>(check.data()), check.size()),
            0xCBF43926u);
  EXPECT_EQ(internal::ComputeCrc32(nullptr, 0), 0u);
  // Piecewise updates of every split give the one-shot value.
  const std::vector<float> data = testing::RandomVector(37, 5);
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const size_t size = data.size() * sizeof(float);
  const uint32_t whole = internal::ComputeCrc32(bytes, size);
  for (size_t split = 0; split <= size; split += 7) {
    internal::Crc32 crc;
    crc.Update(bytes, split);
    crc.Update(bytes + split, size - split);
    EXPECT_EQ(crc.value(), whole) << "split at " << split;
  }
  uint32_t parsed = 0;
  EXPECT_EQ(internal::FormatCrc32(0x0badcafeu), "crc32:0badcafe");
  EXPECT_TRUE(internal::ParseCrc32("crc32:0badcafe", &parsed));
  EXPECT_EQ(parsed, 0x0badcafeu);
  for (const char* bad : {"crc32:0BADCAFE", "crc32:badcafe", "crc32:0badcafe0",
                          "crc:0badcafe", "", "crc32:0badcafg"}) {
    EXPECT_FALSE(internal::ParseCrc32(bad, &parsed)) << bad;
  }
}

// ---- Saving -----------------------------------------------------------------

TEST(SaveModel, ReplacesTheFileAtomicallyAndLeavesNoTemporaryFile) {
  TempDirectory dir;
  const std::string path = dir.File("model.safetensors");
  const Model first(SmallConfig(), InitOptions{1});
  const Model second(SmallConfig(), InitOptions{2});
  SaveModel(first, path);
  SaveModel(second, path);
  EXPECT_EQ(Parameters(LoadModel(path)), Parameters(second));
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"model.safetensors"});
}

TEST(SaveModel, RejectsBadPathsAndMetadata) {
  TempDirectory dir;
  const Model model(SmallConfig(), InitOptions{1});
  EXPECT_TRUE(ThrowsError([&] { SaveModel(model, ""); }, {"path", "empty"}));
  const std::string missing = dir.File("no/such/dir/model.safetensors");
  EXPECT_TRUE(ThrowsError([&] { SaveModel(model, missing); },
                          {"cannot write", missing}));
  EXPECT_TRUE(ThrowsError([&] { SaveModel(model, dir.path() + "/"); },
                          {"must name a file"}));
  SaveOptions reserved;
  reserved.metadata = {{"lstmkit.input_size", "7"}};
  EXPECT_TRUE(ThrowsError([&] { SaveModelToBuffer(model, reserved); },
                          {"lstmkit.input_size", "reserved"}));
  SaveOptions not_utf8;
  not_utf8.metadata = {{"key", "\xff\xfe"}};
  EXPECT_TRUE(
      ThrowsError([&] { SaveModelToBuffer(model, not_utf8); }, {"UTF-8"}));
  SaveOptions bad_dtype;
  bad_dtype.dtype = static_cast<FileDtype>(7);
  EXPECT_TRUE(ThrowsError([&] { SaveModelToBuffer(model, bad_dtype); },
                          {"options.dtype"}));
  // Nothing half-written was left behind by the failures.
  EXPECT_TRUE(dir.Files().empty());
}

TEST(LoadModel, ReportsMissingAndUnreadablePaths) {
  TempDirectory dir;
  const std::string missing = dir.File("missing.safetensors");
  EXPECT_TRUE(
      ThrowsError([&] { LoadModel(missing); }, {"cannot open", missing}));
  EXPECT_TRUE(ThrowsError([&] { LoadModel(dir.path()); },
                          {dir.path(), "not a regular file"}));
  EXPECT_TRUE(ThrowsError([&] { LoadModel(""); }, {"path", "empty"}));
  EXPECT_TRUE(ThrowsError(
      [&] { LoadModelFromBuffer(Span<const uint8_t>(nullptr, 10)); },
      {"null", "10 bytes"}));
}

// ---- Plain safetensors files ------------------------------------------------

// A file as any safetensors writer makes it from an nn.LSTM state_dict: the
// tensors under PyTorch's names, no lstmkit metadata.
std::vector<uint8_t> PlainFile(const Model& model, const std::string& prefix,
                               internal::Metadata metadata = {}) {
  std::vector<internal::TensorToWrite> tensors;
  for (const std::string& name : model.parameter_names()) {
    const Span<const float> values = model.parameter(name);
    const std::vector<int> shape = model.parameter_shape(name);
    tensors.push_back({prefix + name, Dtype::kF32,
                       std::vector<int64_t>(shape.begin(), shape.end()),
                       [values](uint8_t* out) {
                         internal::EncodeFloats(Dtype::kF32, values.data(),
                                                values.size(), out);
                       }});
  }
  return internal::WriteSafetensors(tensors, std::move(metadata), "");
}

TEST(PlainSafetensors, ConfigIsInferredFromNamesAndShapes) {
  ModelConfig config = SmallConfig();
  config.num_layers = 3;
  const Model model(config, InitOptions{5});
  FileMetadata metadata;
  const Model loaded =
      LoadModelFromBuffer(PlainFile(model, "", {{"format", "pt"}}), &metadata);
  EXPECT_EQ(loaded.config().input_size, 3);
  EXPECT_EQ(loaded.config().hidden_size, 4);
  EXPECT_EQ(loaded.config().num_layers, 3);
  EXPECT_EQ(loaded.config().output_size, 2);
  EXPECT_EQ(loaded.config().output_activation, OutputActivation::kIdentity);
  EXPECT_EQ(loaded.config().output_steps, OutputSteps::kEveryStep);
  EXPECT_EQ(Parameters(loaded), Parameters(model));
  EXPECT_EQ(metadata, (FileMetadata{{"format", "pt"}}));

  ModelConfig no_head = config;
  no_head.output_size = 0;
  const Model bare(no_head, InitOptions{6});
  const Model loaded_bare = LoadModelFromBuffer(PlainFile(bare, ""));
  EXPECT_EQ(loaded_bare.config().output_size, 0);
  EXPECT_EQ(Parameters(loaded_bare), Parameters(bare));
}

TEST(PlainSafetensors, BidirectionalAndProjectionAreInferred) {
  struct Case {
    bool bidirectional;
    int proj_size;
    int output_size;
  };
  for (const Case& c : {Case{true, 0, 2}, Case{false, 3, 2}, Case{true, 1, 0},
                        Case{true, 2, 5}}) {
    SCOPED_TRACE(std::to_string(c.bidirectional) + " proj " +
                 std::to_string(c.proj_size));
    ModelConfig config = SmallConfig();
    config.num_layers = 3;
    config.bidirectional = c.bidirectional;
    config.proj_size = c.proj_size;
    config.output_size = c.output_size;
    const Model model(config, InitOptions{8});
    const Model loaded = LoadModelFromBuffer(PlainFile(model, ""));
    // batch_first and dropout are not in a state_dict: the defaults.
    ExpectSameConfig(loaded.config(), config);
    EXPECT_EQ(Parameters(loaded), Parameters(model));
  }
  // Options a state_dict cannot hold come back as their defaults.
  const Model model(OptionsConfig(), InitOptions{8});
  ModelConfig inferred = OptionsConfig();
  inferred.dropout = 0.0f;
  inferred.batch_first = false;
  ExpectSameConfig(LoadModelFromBuffer(PlainFile(model, "")).config(),
                   inferred);
}

TEST(PlainSafetensors, PrefixedNamesGetAHint) {
  const Model model(SmallConfig(), InitOptions{5});
  EXPECT_TRUE(
      ThrowsError([&] { LoadModelFromBuffer(PlainFile(model, "lstm.")); },
                  {"buffer", "\"lstm.weight", "prefix", "export_pytorch.py"}));
}

TEST(PlainSafetensors, DescribeSaysTheChecksumWasNotChecked) {
  TempDirectory dir;
  const std::string path = dir.File("plain.safetensors");
  WriteBytes(path, PlainFile(Model(SmallConfig(), InitOptions{5}), ""));
  const ModelFileInfo info = InspectModelFile(path);
  EXPECT_EQ(info.format_version, 0);
  EXPECT_TRUE(info.config_inferred);
  EXPECT_EQ(info.checksum, ChecksumState::kAbsent);
  EXPECT_TRUE(info.stored_checksum.empty());
  const std::string text = DescribeModelFile(path);
  EXPECT_NE(text.find("without lstmkit metadata"), std::string::npos) << text;
  EXPECT_NE(text.find("inferred"), std::string::npos) << text;
  EXPECT_NE(text.find("none recorded, not checked"), std::string::npos) << text;
}

// ---- Describing files -------------------------------------------------------

TEST(DescribeModelFile, ListsConfigTensorsChecksumAndMetadata) {
  TempDirectory dir;
  const std::string path = dir.File("model.safetensors");
  SaveOptions options;
  options.dtype = FileDtype::kBF16;
  options.metadata = {{"note", "line one\nline two"}};
  SaveModel(Model(SmallConfig(), InitOptions{1}), path, options);

  const ModelFileInfo info = InspectModelFile(path);
  EXPECT_EQ(info.format_version, 1);
  EXPECT_FALSE(info.is_checkpoint);
  EXPECT_FALSE(info.config_inferred);
  EXPECT_EQ(info.checksum, ChecksumState::kVerified);
  EXPECT_EQ(info.stored_checksum, info.computed_checksum);
  EXPECT_EQ(info.file_size, ReadBytes(path).size());
  ASSERT_EQ(info.tensors.size(), 10u);
  uint64_t data_bytes = 0;
  for (const TensorDescription& t : info.tensors) {
    EXPECT_EQ(t.dtype, "BF16") << t.name;
    data_bytes += t.bytes;
  }
  EXPECT_EQ(data_bytes, 2 * Model(SmallConfig()).parameters().size());
  EXPECT_EQ(info.tensors[0].name, "weight_ih_l0");
  EXPECT_EQ(info.tensors[0].shape, (std::vector<int64_t>{16, 3}));
  EXPECT_EQ(info.metadata, options.metadata);

  const std::string text = DescribeModelFile(path);
  for (const char* part :
       {"lstmkit model file, format version 1", "input_size 3", "hidden_size 4",
        "num_layers 2", "output_size 2", "verified", "weight_ih_l0", "BF16",
        "[16, 3]", "96 bytes", "head.bias", "bidirectional false",
        "proj_size 0", "dropout 0", "batch_first false",
        "\"note\" = \"line one\\nline two\""}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }

  // A damaged byte in the data: Inspect reports it, LoadModel refuses.
  std::vector<uint8_t> bytes = ReadBytes(path);
  bytes.back() ^= 0x01;
  WriteBytes(path, bytes);
  EXPECT_EQ(InspectModelFile(path).checksum, ChecksumState::kMismatch);
  EXPECT_NE(DescribeModelFile(path).find("MISMATCH"), std::string::npos);
  EXPECT_TRUE(ThrowsError([&] { LoadModel(path); },
                          {path, "checksum mismatch", "damaged"}));
}

// ---- Damaged and hostile files ----------------------------------------------

// A file from a header text and data, with a correct length prefix unless
// one is given.
std::vector<uint8_t> RawFile(const std::string& header,
                             const std::vector<uint8_t>& data,
                             uint64_t length = UINT64_MAX) {
  if (length == UINT64_MAX) length = header.size();
  std::vector<uint8_t> file(8);
  for (int i = 0; i < 8; ++i) file[i] = static_cast<uint8_t>(length >> 8 * i);
  file.insert(file.end(), header.begin(), header.end());
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

struct Parts {
  json header;
  std::vector<uint8_t> data;
};

// The header and data of a valid model file, to be damaged.
Parts ValidParts(bool checksum = true) {
  const std::vector<uint8_t> file =
      SaveModelToBuffer(Model(SmallConfig(), InitOptions{3}));
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = length << 8 | file[i];
  Parts parts;
  parts.header = json::parse(file.begin() + 8, file.begin() + 8 + length);
  parts.data.assign(file.begin() + 8 + length, file.end());
  if (!checksum) parts.header["__metadata__"].erase("lstmkit.checksum");
  return parts;
}

std::vector<uint8_t> Assemble(const Parts& parts) {
  return RawFile(parts.header.dump(), parts.data);
}

// A structurally valid file of these tensors (zero data) and metadata,
// with a correct checksum.
std::vector<uint8_t> FileOf(
    const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors,
    internal::Metadata metadata, Dtype dtype = Dtype::kF32) {
  std::vector<internal::TensorToWrite> list;
  for (const auto& t : tensors) {
    uint64_t bytes = internal::DtypeSize(dtype);
    for (int64_t d : t.second) bytes *= static_cast<uint64_t>(d);
    list.push_back({t.first, dtype, t.second,
                    [bytes](uint8_t* out) { std::memset(out, 0, bytes); }});
  }
  const bool lstmkit = !metadata.empty();
  return internal::WriteSafetensors(list, std::move(metadata),
                                    lstmkit ? internal::kChecksumKey : "");
}

// The tensors of SmallConfig, by name and shape.
std::vector<std::pair<std::string, std::vector<int64_t>>> SmallTensors() {
  return {{"weight_ih_l0", {16, 3}}, {"weight_hh_l0", {16, 4}},
          {"bias_ih_l0", {16}},      {"bias_hh_l0", {16}},
          {"weight_ih_l1", {16, 4}}, {"weight_hh_l1", {16, 4}},
          {"bias_ih_l1", {16}},      {"bias_hh_l1", {16}},
          {"head.weight", {2, 4}},   {"head.bias", {2}}};
}

internal::Metadata SmallMetadata() {
  return internal::ModelMetadata(SmallConfig(), internal::FileKind::kModel, {});
}

::testing::AssertionResult Rejects(const std::vector<uint8_t>& file,
                                   std::vector<std::string> parts) {
  parts.push_back("lstmkit: buffer: ");
  return ThrowsError([&] { LoadModelFromBuffer(file); }, parts);
}

TEST(HostileFile, ValidPartsLoad) {
  // The damaged files below start from these; they must load untouched.
  EXPECT_NO_THROW(LoadModelFromBuffer(Assemble(ValidParts())));
  EXPECT_NO_THROW(LoadModelFromBuffer(Assemble(ValidParts(false))));
  EXPECT_NO_THROW(LoadModelFromBuffer(FileOf(SmallTensors(), SmallMetadata())));
}

TEST(HostileFile, LengthPrefix) {
  EXPECT_TRUE(Rejects({}, {"0 bytes", "8-byte header length"}));
  EXPECT_TRUE(Rejects({1, 2, 3, 4, 5, 6, 7}, {"7 bytes"}));
  const Parts parts = ValidParts();
  const std::string header = parts.header.dump();
  EXPECT_TRUE(Rejects(RawFile(header, parts.data, uint64_t{1} << 40),
                      {"header length is 1099511627776", "limit"}));
  EXPECT_TRUE(
      Rejects(RawFile(header, {}, header.size() + 1), {"only", "truncated"}));
  EXPECT_TRUE(Rejects(RawFile(header, parts.data, UINT64_MAX - 1), {"limit"}));
}

TEST(HostileFile, HeaderJson) {
  EXPECT_TRUE(Rejects(RawFile("{\"a\":", {}), {"header", "not valid JSON"}));
  EXPECT_TRUE(Rejects(RawFile("", {}), {"header", "not valid JSON"}));
  EXPECT_TRUE(Rejects(RawFile("{} trailing", {}), {"not valid JSON"}));
  EXPECT_TRUE(Rejects(RawFile("[1, 2]", {}), {"must be a JSON object"}));
  EXPECT_TRUE(Rejects(RawFile("{\"x\": \"\xff\"}", {}), {"not valid JSON"}));
  EXPECT_TRUE(Rejects(
      RawFile(std::string(100000, '[') + "1" + std::string(100000, ']'), {}),
      {"nests deeper than 3 levels"}));
  EXPECT_TRUE(
      Rejects(RawFile("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", {}),
              {"key \"dtype\" twice in \"a\""}));
  // The same tensor twice: JSON libraries disagree on which one counts.
  EXPECT_TRUE(Rejects(
      RawFile("{\"bias_ih_l0\":{\"dtype\":\"F32\",\"shape\":[0],"
              "\"data_offsets\":[0,0]},\"bias_ih_l0\":{\"dtype\":\"F32\","
              "\"shape\":[0],\"data_offsets\":[0,0]}}",
              {}),
      {"key \"bias_ih_l0\" twice"}));
}

TEST(HostileFile, TensorEntries) {
  auto damaged = [](auto&& mutate) {
    Parts parts = ValidParts();
    mutate(parts.header);
    return Assemble(parts);
  };
  EXPECT_TRUE(Rejects(damaged([](json& h) { h["weight_hh_l0"] = 5; }),
                      {"\"weight_hh_l0\"", "must be an object"}));
  EXPECT_TRUE(Rejects(damaged([](json& h) { h["weight_hh_l0"]["x"] = 1; }),
                      {"\"weight_hh_l0\"", "unknown field \"x\""}));
  EXPECT_TRUE(Rejects(damaged([](json& h) { h["bias_ih_l1"].erase("dtype"); }),
                      {"\"bias_ih_l1\"", "missing field \"dtype\""}));
  EXPECT_TRUE(
      Rejects(damaged([](json& h) { h["bias_ih_l1"]["dtype"] = "F33"; }),
              {"\"bias_ih_l1\"", "unknown dtype \"F33\""}));
  EXPECT_TRUE(Rejects(damaged([](json& h) { h["bias_ih_l1"]["dtype"] = 4; }),
                      {"\"bias_ih_l1\"", "dtype must be a string"}));
  EXPECT_TRUE(Rejects(
      damaged([](json& h) { h["bias_ih_l1"]["shape"] = {-16}; }),
      {"\"bias_ih_l1\"", "shape must hold non-negative integers", "-16"}));
  EXPECT_TRUE(
      Rejects(damaged([](json& h) { h["bias_ih_l1"]["shape"] = {16.5}; }),
              {"\"bias_ih_l1\"", "non-negative integers", "16.5"}));
  EXPECT_TRUE(Rejects(
      damaged([](json& h) {
        h["bias_ih_l1"]["shape"] = json::array({1, 1, 1, 1, 1, 1, 1, 1, 16});
      }),
      {"\"bias_ih_l1\"", "9 dimensions"}));
  EXPECT_TRUE(Rejects(damaged([](json& h) {
                        h["bias_ih_l1"]["shape"] = {uint64_t{1} << 32,
                                                    uint64_t{1} << 32,
                                                    uint64_t{1} << 32};
                      }),
                      {"\"bias_ih_l1\"", "more elements than 2^64"}));
  EXPECT_TRUE(Rejects(
      damaged([](json& h) { h["bias_ih_l1"]["shape"] = {uint64_t{1} << 62}; }),
      {"\"bias_ih_l1\"", "overflow a 64-bit byte count"}));
  EXPECT_TRUE(
      Rejects(damaged([](json& h) { h["bias_ih_l1"]["data_offsets"] = {1}; }),
              {"\"bias_ih_l1\"", "data_offsets must be [begin, end]"}));
  EXPECT_TRUE(
      Rejects(damaged([](json& h) {
                h["head.bias"]["data_offsets"] = {1u << 20, (1u << 20) + 8};
              }),
              {"\"head.bias\"", "reach past the data section"}));
  EXPECT_TRUE(Rejects(damaged([](json& h) {
                        h["head.bias"]["data_offsets"][0] =
                            h["head.bias"]["data_offsets"][1];
                        h["head.bias"]["data_offsets"][1] = 0;
                      }),
                      {"\"head.bias\"", "end before they begin"}));
  EXPECT_TRUE(Rejects(
      damaged([](json& h) { h["head.bias"]["shape"] = {3}; }),
      {"\"head.bias\"", "hold 8 bytes, but 3 elements of F32 need 12"}));
  EXPECT_TRUE(Rejects(damaged([](json& h) { h[""] = h["head.bias"]; }),
                      {"empty name"}));
}

TEST(HostileFile, ByteRanges) {
  {  // Two tensors share bytes.
    Parts parts = ValidParts();
    parts.header["bias_hh_l0"]["data_offsets"] =
        parts.header["bias_ih_l0"]["data_offsets"];
    EXPECT_TRUE(Rejects(Assemble(parts), {"overlap", "bias_ih_l0"}));
  }
  {  // Bytes at the end belong to nobody.
    Parts parts = ValidParts();
    parts.data.resize(parts.data.size() + 4);
    EXPECT_TRUE(
        Rejects(Assemble(parts), {"the data section has", "cover only"}));
  }
  {  // A hole in the middle: head.bias moved 4 bytes on.
    Parts parts = ValidParts();
    json& offsets = parts.header["head.bias"]["data_offsets"];
    offsets = {offsets[0].get<uint64_t>() + 4, offsets[1].get<uint64_t>() + 4};
    parts.data.resize(parts.data.size() + 4);
    EXPECT_TRUE(Rejects(Assemble(parts), {"belong to no tensor"}));
  }
  {  // The file was cut short.
    Parts parts = ValidParts();
    parts.data.resize(parts.data.size() - 1);
    EXPECT_TRUE(Rejects(Assemble(parts), {"\"head.bias\"", "reach past"}));
  }
}

TEST(HostileFile, TensorsAgainstTheConfig) {
  auto tensors = SmallTensors();
  {
    auto wrong = tensors;
    wrong[1].second = {16, 3};
    EXPECT_TRUE(Rejects(FileOf(wrong, SmallMetadata()),
                        {"\"weight_hh_l0\"", "has shape [16, 3]",
                         "needs [16, 4]", "hidden_size 4"}));
  }
  {
    auto missing = tensors;
    missing.erase(missing.begin() + 5);
    EXPECT_TRUE(Rejects(FileOf(missing, SmallMetadata()),
                        {"\"weight_hh_l1\" is missing", "num_layers 2"}));
  }
  {
    auto extra = tensors;
    extra.push_back({"weight_ih_l2", {16, 4}});
    EXPECT_TRUE(Rejects(FileOf(extra, SmallMetadata()),
                        {"\"weight_ih_l2\"",
                         "not a parameter of the file's "
                         "config"}));
    extra.back() = {"embedding.weight", {10, 3}};
    EXPECT_TRUE(Rejects(FileOf(extra, SmallMetadata()),
                        {"\"embedding.weight\"", "head.weight"}));
    extra.back() = {"weight_ih_l01", {16, 4}};
    EXPECT_TRUE(Rejects(FileOf(extra, SmallMetadata()),
                        {"\"weight_ih_l01\"", "not an LSTM parameter"}));
    // One reverse tensor makes a plain file bidirectional; the others of
    // the reverse direction must be there too.
    extra.back() = {"weight_ih_l0_reverse", {16, 3}};
    EXPECT_TRUE(
        Rejects(FileOf(extra, {}),
                {"\"weight_hh_l0_reverse\" is missing", "bidirectional true"}));
    extra.back() = {"weight_hr_l0", {2, 4}};
    EXPECT_TRUE(Rejects(FileOf(extra, {}),
                        {"\"weight_hr_l1\" is missing", "proj_size 2"}));
    extra.back() = {"weight_hr_l0_reversed", {2, 4}};
    EXPECT_TRUE(Rejects(
        FileOf(extra, SmallMetadata()),
        {"\"weight_hr_l0_reversed\"", "not an LSTM parameter", "_reverse"}));
  }
  EXPECT_TRUE(Rejects(FileOf(tensors, SmallMetadata(), Dtype::kF16),
                      {"\"weight_ih_l0\" has dtype F16", "F32 and BF16"}));
  EXPECT_TRUE(
      Rejects(FileOf(tensors, SmallMetadata(), Dtype::kF64), {"dtype F64"}));
  // Without metadata the config comes from weight_ih_l0 and weight_hh_l0;
  // the other tensors must agree with it.
  {
    auto inconsistent = tensors;
    inconsistent[4].second = {16, 5};
    EXPECT_TRUE(
        Rejects(FileOf(inconsistent, {}),
                {"\"weight_ih_l1\" has shape [16, 5]", "needs [16, 4]"}));
    inconsistent = tensors;
    inconsistent[0].second = {12, 3};
    EXPECT_TRUE(
        Rejects(FileOf(inconsistent, {}),
                {"\"weight_ih_l0\" has shape [12, 3]", "needs [16, 3]"}));
    inconsistent = tensors;
    inconsistent[1].second = {16};
    EXPECT_TRUE(Rejects(FileOf(inconsistent, {}),
                        {"\"weight_hh_l0\" must be a matrix"}));
    inconsistent = tensors;
    inconsistent.erase(inconsistent.begin());
    EXPECT_TRUE(
        Rejects(FileOf(inconsistent, {}), {"\"weight_ih_l0\" is missing"}));
    inconsistent = tensors;
    inconsistent.erase(inconsistent.end() - 2);
    EXPECT_TRUE(Rejects(FileOf(inconsistent, {}),
                        {"\"head.bias\" has no \"head.weight\""}));
    inconsistent = tensors;
    inconsistent.erase(inconsistent.begin() + 1);
    inconsistent.push_back({"weight_hh_l0", {16, 0}});
    EXPECT_TRUE(Rejects(FileOf(inconsistent, {}),
                        {"config is invalid", "config.hidden_size"}));
  }
}

// The tensors of a config, by name and shape, in file order.
std::vector<std::pair<std::string, std::vector<int64_t>>> TensorsOf(
    const ModelConfig& config) {
  const Model model(config);
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;
  for (const std::string& name : model.parameter_names()) {
    const std::vector<int> shape = model.parameter_shape(name);
    tensors.push_back({name, std::vector<int64_t>(shape.begin(), shape.end())});
  }
  return tensors;
}

internal::Metadata MetadataOf(const ModelConfig& config) {
  return internal::ModelMetadata(config, internal::FileKind::kModel, {});
}

TEST(HostileFile, OptionTensorsAgainstTheConfig) {
  const ModelConfig options = OptionsConfig();
  EXPECT_NO_THROW(
      LoadModelFromBuffer(FileOf(TensorsOf(options), MetadataOf(options))));
  {  // The metadata says one direction; the file has two.
    ModelConfig forward_only = options;
    forward_only.bidirectional = false;
    EXPECT_TRUE(Rejects(
        FileOf(TensorsOf(options), MetadataOf(forward_only)),
        {"\"weight_ih_l0_reverse\"", "not a parameter of the file's config",
         "bidirectional false"}));
  }
  {  // The metadata says no projection; the file has weight_hr tensors.
    ModelConfig projected = SmallConfig();
    projected.proj_size = 3;
    EXPECT_TRUE(
        Rejects(FileOf(TensorsOf(projected), SmallMetadata()),
                {"\"weight_hr_l0\"", "not a parameter", "proj_size 0"}));
  }
  {  // A reverse tensor is missing.
    auto missing = TensorsOf(options);
    ASSERT_EQ(missing[18].first, "bias_hh_l1_reverse");
    missing.erase(missing.begin() + 18);
    EXPECT_TRUE(Rejects(FileOf(missing, MetadataOf(options)),
                        {"\"bias_hh_l1_reverse\" is missing"}));
  }
  {  // A projection of the wrong shape, and a head for one direction.
    auto wrong = TensorsOf(options);
    ASSERT_EQ(wrong[9].first, "weight_hr_l0_reverse");
    wrong[9].second = {4, 2};
    EXPECT_TRUE(Rejects(FileOf(wrong, MetadataOf(options)),
                        {"\"weight_hr_l0_reverse\" has shape [4, 2]",
                         "needs [2, 4]", "proj_size 2"}));
    wrong = TensorsOf(options);
    ASSERT_EQ(wrong[20].first, "head.weight");
    wrong[20].second = {2, 2};
    EXPECT_TRUE(Rejects(FileOf(wrong, MetadataOf(options)),
                        {"\"head.weight\" has shape [2, 2]", "needs [2, 4]"}));
    // Layer 1 reads both directions' projected h: D * P = 4 values.
    wrong = TensorsOf(options);
    ASSERT_EQ(wrong[10].first, "weight_ih_l1");
    wrong[10].second = {16, 2};
    EXPECT_TRUE(
        Rejects(FileOf(wrong, MetadataOf(options)),
                {"\"weight_ih_l1\" has shape [16, 2]", "needs [16, 4]"}));
  }
  {  // Without metadata the projection is read from weight_hr_l0.
    auto plain = TensorsOf(options);
    plain.erase(plain.begin() + 4);
    ASSERT_EQ(plain[4].first, "weight_ih_l0_reverse");
    EXPECT_TRUE(Rejects(FileOf(plain, {}),
                        {"\"weight_hr_l0\" is missing", "inferred"}));
    plain = TensorsOf(options);
    plain[4].second = {2, 4, 1};
    EXPECT_TRUE(
        Rejects(FileOf(plain, {}), {"\"weight_hr_l0\" must be a matrix"}));
    // weight_hr_l0 [4, 4] claims P = H: no projection is that wide.
    plain = TensorsOf(options);
    plain[4].second = {4, 4};
    EXPECT_TRUE(
        Rejects(FileOf(plain, {}), {"config is invalid", "config.proj_size"}));
  }
}

TEST(HostileFile, OptionMetadata) {
  // A key of format version 2 in a file of that version.
  auto with = [](const std::string& key, const std::string& value) {
    internal::Metadata metadata = SmallMetadata();
    metadata["lstmkit.format_version"] = "2";
    metadata[key] = value;
    return FileOf(SmallTensors(), metadata);
  };
  // Version 1 did not define the options: a version-1 file that has one
  // was not written by lstmkit.
  for (const char* key : {"lstmkit.bidirectional", "lstmkit.batch_first"}) {
    internal::Metadata metadata = SmallMetadata();
    metadata[key] = "false";
    EXPECT_TRUE(Rejects(
        FileOf(SmallTensors(), metadata),
        {"unknown metadata key", key, "format version 1 does not define"}));
  }
  for (const char* bad : {"yes", "True", "1", ""}) {
    EXPECT_TRUE(Rejects(with("lstmkit.bidirectional", bad),
                        {"lstmkit.bidirectional", "\"true\" or \"false\""}))
        << bad;
    EXPECT_TRUE(Rejects(with("lstmkit.batch_first", bad),
                        {"lstmkit.batch_first", "\"true\" or \"false\""}))
        << bad;
  }
  // "false" is what the default means, and loads.
  EXPECT_NO_THROW(LoadModelFromBuffer(with("lstmkit.bidirectional", "false")));
  EXPECT_NO_THROW(LoadModelFromBuffer(with("lstmkit.batch_first", "false")));
  // A bidirectional config needs the reverse tensors.
  EXPECT_TRUE(Rejects(with("lstmkit.bidirectional", "true"),
                      {"\"weight_ih_l0_reverse\" is missing"}));
  for (const char* bad : {"-1", "two", "02", "1.5"}) {
    EXPECT_TRUE(Rejects(with("lstmkit.proj_size", bad),
                        {"lstmkit.proj_size", "decimal integer"}))
        << bad;
  }
  EXPECT_TRUE(Rejects(with("lstmkit.proj_size", "4"),
                      {"config is invalid",
                       "config.proj_size must be in [0, "
                       "config.hidden_size = 4)"}));
  EXPECT_TRUE(Rejects(with("lstmkit.proj_size", "2"),
                      {"\"weight_hr_l0\" is missing", "proj_size 2"}));
  for (const char* bad :
       {"1", "1.0", "-0.5", "nan", "inf", "0.5x", " 0.5", "", "0,5", "1e400"}) {
    EXPECT_TRUE(Rejects(with("lstmkit.dropout", bad),
                        {"lstmkit.dropout", "decimal number in [0, 1)"}))
        << bad;
  }
  // Any decimal form of a probability reads; "-0" is 0.
  for (const std::pair<const char*, float>& good :
       {std::pair<const char*, float>{"0.5", 0.5f},
        {"5e-1", 0.5f},
        {"0.50000", 0.5f},
        {"-0", 0.0f},
        {"0", 0.0f}}) {
    const ModelConfig config =
        LoadModelFromBuffer(with("lstmkit.dropout", good.first)).config();
    EXPECT_EQ(FloatBits(config.dropout), FloatBits(good.second)) << good.first;
  }
}

TEST(HostileFile, Metadata) {
  auto with = [](const std::string& key, const std::string& value) {
    internal::Metadata metadata = SmallMetadata();
    metadata[key] = value;
    return FileOf(SmallTensors(), metadata);
  };
  auto without = [](const std::string& key) {
    internal::Metadata metadata = SmallMetadata();
    metadata.erase(key);
    return FileOf(SmallTensors(), metadata);
  };
  EXPECT_TRUE(Rejects(with("lstmkit.format_version", "3"),
                      {"format version 3", "reads versions 1 to 2"}));
  // A version-2 file that uses no option is fine too.
  EXPECT_NO_THROW(LoadModelFromBuffer(with("lstmkit.format_version", "2")));
  EXPECT_TRUE(Rejects(with("lstmkit.format_version", "0"), {"version 0"}));
  EXPECT_TRUE(Rejects(with("lstmkit.format_version", "01"),
                      {"lstmkit.format_version", "decimal integer"}));
  EXPECT_TRUE(Rejects(without("lstmkit.format_version"),
                      {"no lstmkit.format_version"}));
  EXPECT_TRUE(Rejects(with("lstmkit.hidden_size", "four"),
                      {"lstmkit.hidden_size", "\"four\""}));
  EXPECT_TRUE(
      Rejects(with("lstmkit.hidden_size", "-4"), {"lstmkit.hidden_size"}));
  EXPECT_TRUE(Rejects(with("lstmkit.hidden_size", "99999999999"),
                      {"lstmkit.hidden_size", "[0, 2^31)"}));
  EXPECT_TRUE(Rejects(without("lstmkit.num_layers"),
                      {"lstmkit.num_layers is missing"}));
  EXPECT_TRUE(Rejects(with("lstmkit.output_activation", "relu"),
                      {"lstmkit.output_activation", "\"relu\""}));
  EXPECT_TRUE(Rejects(with("lstmkit.output_steps", "first"),
                      {"lstmkit.output_steps", "\"first\""}));
  EXPECT_TRUE(Rejects(with("lstmkit.kind", "optimizer"),
                      {"lstmkit.kind", "\"optimizer\""}));
  EXPECT_TRUE(Rejects(with("lstmkit.colour", "blue"),
                      {"unknown metadata key \"lstmkit.colour\""}));
  // A model file may not carry a checkpoint's entries.
  EXPECT_TRUE(Rejects(with("lstmkit.trainer", "{}"),
                      {"unknown metadata key \"lstmkit.trainer\""}));
  {  // The writer computes the checksum, so these damage a written file.
    Parts parts = ValidParts();
    json& metadata = parts.header["__metadata__"];
    metadata["lstmkit.checksum"] = "crc32:XYZ";
    EXPECT_TRUE(Rejects(Assemble(parts),
                        {"lstmkit.checksum", "8 lower-case hex digits"}));
    metadata["lstmkit.checksum"] = "crc32:00000000";
    EXPECT_TRUE(Rejects(Assemble(parts),
                        {"checksum mismatch", "records crc32:00000000"}));
  }
  EXPECT_TRUE(Rejects(with("lstmkit.output_size", "0"),
                      {"\"head.weight\"", "not a parameter"}));
  {
    internal::Metadata metadata = SmallMetadata();
    metadata["lstmkit.output_activation"] = "softmax";
    metadata["lstmkit.output_size"] = "0";
    auto tensors = SmallTensors();
    tensors.resize(8);  // no head
    EXPECT_TRUE(Rejects(FileOf(tensors, metadata),
                        {"config is invalid", "kSoftmax needs a head"}));
  }
  {
    Parts parts = ValidParts();
    parts.header["__metadata__"]["note"] = 5;
    EXPECT_TRUE(
        Rejects(Assemble(parts), {"__metadata__ \"note\" must be a string"}));
    parts.header["__metadata__"] = json::array();
    EXPECT_TRUE(Rejects(Assemble(parts), {"__metadata__ must be an object"}));
  }
  // A file without a checksum loads; the check is skipped.
  EXPECT_NO_THROW(LoadModelFromBuffer(without("lstmkit.checksum")));
}

TEST(HostileFile, HugeConfigWithASmallFileFailsWithoutAllocating) {
  // A million layers claimed by a 2 KB file: the missing tensors are found
  // before any layout for a million layers is built.
  internal::Metadata metadata = SmallMetadata();
  metadata["lstmkit.num_layers"] = "1000000";
  EXPECT_TRUE(Rejects(FileOf(SmallTensors(), metadata),
                      {"\"weight_ih_l2\" is missing", "num_layers 1000000"}));
  metadata = SmallMetadata();
  metadata["lstmkit.format_version"] = "2";
  metadata["lstmkit.bidirectional"] = "true";
  EXPECT_TRUE(Rejects(FileOf(SmallTensors(), metadata),
                      {"\"weight_ih_l0_reverse\" is missing", "num_layers 2"}));
  metadata["lstmkit.num_layers"] = "1000000";
  metadata["lstmkit.proj_size"] = "3";
  EXPECT_TRUE(Rejects(FileOf(SmallTensors(), metadata),
                      {"\"weight_hr_l0\" is missing", "num_layers 1000000"}));
  metadata = SmallMetadata();
  metadata["lstmkit.hidden_size"] = "1048576";
  metadata["lstmkit.input_size"] = "1048576";
  EXPECT_TRUE(Rejects(FileOf(SmallTensors(), metadata),
                      {"config is invalid", "parameters"}));
}

// Records the byte ranges that are read, to show that a bad header stops
// the loader before any tensor data is touched.
class RecordingSource : public internal::MemorySource {
 public:
  using MemorySource::MemorySource;
  void Read(uint64_t offset, size_t count, uint8_t* out) override {
    furthest_ = std::max<uint64_t>(furthest_, offset + count);
    MemorySource::Read(offset, count, out);
  }
  uint64_t furthest() const { return furthest_; }

 private:
  uint64_t furthest_ = 0;
};

TEST(HostileFile, NoTensorDataIsReadBeforeTheHeaderPasses) {
  auto tensors = SmallTensors();
  tensors.back().second = {3};  // head.bias, the last tensor, is wrong
  const std::vector<uint8_t> file = FileOf(tensors, SmallMetadata());
  RecordingSource source(file.data(), file.size());
  EXPECT_TRUE(ThrowsError([&] { internal::ReadModelFileHeader(source); },
                          {"\"head.bias\"", "needs [2]"}));
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = header_length << 8 | file[i];
  EXPECT_EQ(source.furthest(), 8 + header_length);
}

TEST(HostileFile, NamesInMessagesAreEscapedAndShortened) {
  const std::string name = std::string("\x1b[31m") + std::string(5000, 'x');
  auto tensors = SmallTensors();
  tensors.push_back({name, {1}});
  try {
    LoadModelFromBuffer(FileOf(tensors, SmallMetadata()));
    FAIL() << "loaded a file with an unknown tensor";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("\\u001b[31m"), std::string::npos) << message;
    EXPECT_EQ(message.find('\x1b'), std::string::npos);
    EXPECT_LT(message.size(), 600u);
  }
}

}  // namespace
}  // namespace lstmkit
