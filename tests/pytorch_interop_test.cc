// Models exported from PyTorch 1.13 by tools/export_pytorch.py (fixtures in
// tests/data made by tools/make_interop_fixtures.py from a module holding
// `model.lstm` and `model.fc`) load and give PyTorch's outputs, and
// lstmkit's writer produces the same bytes as the Python exporter:
//
//  - interop_pytorch.safetensors (F32, last step): y, h_n, c_n within 1e-5
//    of PyTorch (absolute; float32 on both sides, every value O(1), as in
//    pytorch_parity_test), and saving the loaded model again gives the
//    file byte for byte.
//  - interop_pytorch_bf16.safetensors: within 1e-5 of PyTorch run with its
//    own bfloat16-rounded weights; lstmkit's BF16 writer, fed the F32 file's
//    weights, writes this file byte for byte, so both round to nearest even
//    identically, ties included (the fixture plants four).
//  - interop_pytorch_plain.safetensors (no lstmkit metadata): the config is
//    inferred, the head runs on every step, and the outputs match.
//  - interop_pytorch_bidir_proj.safetensors, a bidirectional nn.LSTM with
//    proj_size, batch_first and dropout exported from a whole saved module:
//    every option arrives, the outputs match PyTorch's (eval mode), and
//    lstmkit writes the file back byte for byte. Its --plain twin gets
//    bidirectional and proj_size from the tensors alone.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bfloat16.h"
#include "file_test_util.h"
#include "lstmkit/lstmkit.hpp"
#include "test_util.h"

namespace lstmkit {
namespace {

using nlohmann::json;
using testing::MaxAbsDiff;
using testing::Parameters;
using testing::ReadBytes;

constexpr double kForwardAbs = 1e-5;

std::string DataPath(const std::string& name) {
  return std::string(LSTMKIT_TEST_DATA_DIR) + "/" + name;
}

// A missing fixture is a failure, not a skip.
json Expected(const std::string& name = "interop_pytorch.json") {
  std::ifstream in(DataPath(name));
  EXPECT_TRUE(in.good()) << "regenerate with /usr/bin/python3 "
                            "tools/make_interop_fixtures.py";
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

std::vector<float> Floats(const json& values) {
  std::vector<float> out;
  for (const json& v : values)
    out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

void ExpectOutputsMatch(const Model& model, const json& expected,
                        const json& outputs) {
  const std::vector<float> x = Floats(expected.at("x"));
  Input input;
  input.seq_len = expected.at("seq_len").get<int>();
  input.batch = expected.at("batch").get<int>();
  input.x = x;
  const Output out = model.Forward(input);
  const double y = MaxAbsDiff(out.y, Floats(outputs.at("y")));
  const double h = MaxAbsDiff(out.h_n, Floats(outputs.at("h_n")));
  const double c = MaxAbsDiff(out.c_n, Floats(outputs.at("c_n")));
  EXPECT_LE(y, kForwardAbs);
  EXPECT_LE(h, kForwardAbs);
  EXPECT_LE(c, kForwardAbs);
  std::printf("[interop] y %.2e h_n %.2e c_n %.2e (max abs vs PyTorch)\n", y, h,
              c);
}

void ExpectConfig(const Model& model, OutputSteps steps) {
  const ModelConfig& config = model.config();
  EXPECT_EQ(config.input_size, 3);
  EXPECT_EQ(config.hidden_size, 5);
  EXPECT_EQ(config.num_layers, 2);
  EXPECT_EQ(config.output_size, 2);
  EXPECT_EQ(config.output_activation, OutputActivation::kIdentity);
  EXPECT_EQ(config.output_steps, steps);
}

TEST(PyTorchInterop, F32ExportLoadsAndMatchesPyTorch) {
  const json expected = Expected();
  ASSERT_FALSE(expected.is_discarded());
  const std::string path = DataPath("interop_pytorch.safetensors");
  FileMetadata metadata;
  const Model model = LoadModel(path, &metadata);
  ExpectConfig(model, OutputSteps::kLastStep);
  EXPECT_TRUE(metadata.empty());
  EXPECT_EQ(InspectModelFile(path).checksum, ChecksumState::kVerified);
  ExpectOutputsMatch(model, expected, expected.at("last"));
  // The Python exporter and the C++ writer agree on every byte.
  EXPECT_EQ(SaveModelToBuffer(model), ReadBytes(path));
}

TEST(PyTorchInterop, Bf16ExportRoundsLikeLstmkit) {
  const json expected = Expected();
  ASSERT_FALSE(expected.is_discarded());
  const std::string path = DataPath("interop_pytorch_bf16.safetensors");
  const Model model = LoadModel(path);
  ExpectConfig(model, OutputSteps::kLastStep);
  ExpectOutputsMatch(model, expected, expected.at("last_bf16"));

  const Model f32 = LoadModel(DataPath("interop_pytorch.safetensors"));
  SaveOptions bf16;
  bf16.dtype = FileDtype::kBF16;
  EXPECT_EQ(SaveModelToBuffer(f32, bf16), ReadBytes(path));
  // The planted ties, as PyTorch rounded them: to the even neighbour.
  const Span<const float> ties = f32.parameter("weight_ih_l0");
  const Span<const float> rounded = model.parameter("weight_ih_l0");
  const uint16_t expected_bits[] = {0x3F80, 0x3F82, 0xBF02, 0xBF00};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(internal::FloatToBfloat16(ties[i]), expected_bits[i]) << i;
    EXPECT_EQ(rounded[i], internal::Bfloat16ToFloat(expected_bits[i])) << i;
  }
}

TEST(PyTorchInterop, PlainExportInfersTheConfig) {
  const json expected = Expected();
  ASSERT_FALSE(expected.is_discarded());
  const std::string path = DataPath("interop_pytorch_plain.safetensors");
  const Model model = LoadModel(path);
  ExpectConfig(model, OutputSteps::kEveryStep);
  EXPECT_EQ(InspectModelFile(path).checksum, ChecksumState::kAbsent);
  ExpectOutputsMatch(model, expected, expected.at("every"));
  EXPECT_EQ(Parameters(model),
            Parameters(LoadModel(DataPath("interop_pytorch.safetensors"))));
}

TEST(PyTorchInterop, BidirectionalProjectedExportMatchesPyTorch) {
  const json expected = Expected("interop_pytorch_bidir_proj.json");
  ASSERT_FALSE(expected.is_discarded());
  const std::string path = DataPath("interop_pytorch_bidir_proj.safetensors");
  const Model model = LoadModel(path);
  const ModelConfig& config = model.config();
  EXPECT_EQ(config.input_size, 3);
  EXPECT_EQ(config.hidden_size, 5);
  EXPECT_EQ(config.num_layers, 2);
  EXPECT_EQ(config.output_size, 2);
  EXPECT_TRUE(config.bidirectional);
  EXPECT_EQ(config.proj_size, 3);
  EXPECT_TRUE(config.batch_first);
  EXPECT_EQ(config.dropout, 0.25f);
  EXPECT_EQ(model.parameter_shape("weight_hr_l1_reverse"),
            (std::vector<int>{3, 5}));
  EXPECT_EQ(model.parameter_shape("head.weight"), (std::vector<int>{2, 6}));
  EXPECT_EQ(InspectModelFile(path).checksum, ChecksumState::kVerified);
  // x, y are batch-first ([B][T][...]); h_n [L * 2][B][3], c_n [L * 2][B][5]
  // (a size mismatch counts as an infinite difference).
  ExpectOutputsMatch(model, expected, expected);
  EXPECT_EQ(SaveModelToBuffer(model), ReadBytes(path));
}

TEST(PyTorchInterop, BidirectionalProjectedPlainExportInfersTheConfig) {
  const Model plain =
      LoadModel(DataPath("interop_pytorch_bidir_proj_plain.safetensors"));
  const Model full =
      LoadModel(DataPath("interop_pytorch_bidir_proj.safetensors"));
  const ModelConfig& config = plain.config();
  EXPECT_TRUE(config.bidirectional);
  EXPECT_EQ(config.proj_size, 3);
  EXPECT_EQ(config.hidden_size, 5);
  EXPECT_EQ(config.num_layers, 2);
  EXPECT_EQ(config.output_size, 2);
  // Not in a state_dict: the defaults.
  EXPECT_FALSE(config.batch_first);
  EXPECT_EQ(config.dropout, 0.0f);
  EXPECT_EQ(Parameters(plain), Parameters(full));
}

}  // namespace
}  // namespace lstmkit
