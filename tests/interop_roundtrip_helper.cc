// The lstmkit side of tests/interop_roundtrip_test.py:
//
//   interop_roundtrip_helper write CASE PATH
//       trains a small model of the named case for a few steps, saves it to
//       PATH and writes PATH.json: an input x ([T][B][I], or [B][T][I] for a
//       batch-first model) and lstmkit's y, h_n and c_n for it, for PyTorch
//       to reproduce.
//   interop_roundtrip_helper same A B
//       exits 0 when both files load to the same config, metadata and
//       parameters, bit for bit; otherwise prints the first difference.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "test_util.h"

namespace lstmkit {
namespace {

struct Case {
  const char* name;
  ModelConfig config;
  FileDtype dtype;
};

Case FindCase(const std::string& name) {
  ModelConfig base;
  base.input_size = 3;
  base.hidden_size = 5;
  base.num_layers = 2;
  base.output_size = 2;
  ModelConfig classifier = base;
  classifier.output_size = 4;
  classifier.output_activation = OutputActivation::kSoftmax;
  classifier.output_steps = OutputSteps::kLastStep;
  ModelConfig bare = base;
  bare.output_size = 0;
  bare.num_layers = 1;
  // Every nn.LSTM option: two directions, h projected to 3 of 5 units,
  // batch-first data, dropout in training.
  ModelConfig options = base;
  options.bidirectional = true;
  options.proj_size = 3;
  options.batch_first = true;
  options.dropout = 0.2f;
  ModelConfig projected_classifier = classifier;
  projected_classifier.proj_size = 2;
  const Case cases[] = {
      {"f32", base, FileDtype::kF32},
      {"bf16_softmax_last", classifier, FileDtype::kBF16},
      {"no_head", bare, FileDtype::kF32},
      {"bidirectional_projected", options, FileDtype::kF32},
      {"projected_bf16_softmax_last", projected_classifier, FileDtype::kBF16}};
  for (const Case& c : cases) {
    if (name == c.name) return c;
  }
  throw Error("unknown case " + name);
}

// A few MSE steps, so that the parameters are not just their initial
// values. The softmax case trains on labels.
void Train(Model* model) {
  const ModelConfig& config = model->config();
  const int samples = 6, steps = 4;
  Dataset data;
  data.num_samples = samples;
  data.seq_len = steps;
  data.inputs = testing::RandomVector(
      static_cast<size_t>(samples) * steps * config.input_size, 3);
  const int rows = config.output_steps == OutputSteps::kLastStep ? 1 : steps;
  TrainerConfig tc;
  tc.epochs = 2;
  tc.batch_size = 3;
  if (config.output_activation == OutputActivation::kSoftmax) {
    tc.loss.kind = LossKind::kCrossEntropy;
    for (int i = 0; i < samples * rows; ++i) {
      data.labels.push_back(i % config.output_size);
    }
  } else {
    data.targets = testing::RandomVector(
        static_cast<size_t>(samples) * rows * model->output_width(), 4);
  }
  Trainer(model, tc).Fit(data);
}

int Write(const std::string& case_name, const std::string& path) {
  const Case c = FindCase(case_name);
  Model model(c.config, InitOptions{21});
  Train(&model);
  SaveOptions options;
  options.dtype = c.dtype;
  options.metadata = {{"case", case_name}, {"note", "round trip \xe2\x9c\x93"}};
  SaveModel(model, path, options);
  // The outputs of the model as saved (BF16 files hold rounded weights).
  const Model saved = LoadModel(path);
  const int seq_len = 6, batch = 2;
  const std::vector<float> x = testing::RandomVector(
      static_cast<size_t>(seq_len) * batch * c.config.input_size, 8);
  Input input;
  input.seq_len = seq_len;
  input.batch = batch;
  input.x = x;
  const Output out = saved.Forward(input);
  const nlohmann::json expected = {
      {"seq_len", seq_len}, {"batch", batch}, {"x", x},
      {"y", out.y},         {"h_n", out.h_n}, {"c_n", out.c_n}};
  std::ofstream(path + ".json") << expected.dump() << "\n";
  return 0;
}

bool SameBits(Span<const float> a, Span<const float> b, size_t* where) {
  if (a.size() != b.size()) {
    *where = std::min(a.size(), b.size());
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      *where = i;
      return false;
    }
  }
  return true;
}

int Same(const std::string& a_path, const std::string& b_path) {
  FileMetadata a_metadata, b_metadata;
  const Model a = LoadModel(a_path, &a_metadata);
  const Model b = LoadModel(b_path, &b_metadata);
  const ModelConfig &ca = a.config(), &cb = b.config();
  if (ca.input_size != cb.input_size || ca.hidden_size != cb.hidden_size ||
      ca.num_layers != cb.num_layers || ca.output_size != cb.output_size ||
      ca.output_activation != cb.output_activation ||
      ca.output_steps != cb.output_steps ||
      ca.bidirectional != cb.bidirectional || ca.proj_size != cb.proj_size ||
      ca.dropout != cb.dropout || ca.batch_first != cb.batch_first) {
    std::fprintf(stderr, "the configs differ\n");
    return 1;
  }
  if (a_metadata != b_metadata) {
    std::fprintf(stderr, "the metadata differ\n");
    return 1;
  }
  size_t where = 0;
  if (!SameBits(a.parameters(), b.parameters(), &where)) {
    std::fprintf(stderr, "parameter %zu differs\n", where);
    return 1;
  }
  std::printf("same: %zu parameters, bit for bit\n", a.parameters().size());
  return 0;
}

}  // namespace
}  // namespace lstmkit

int main(int argc, char** argv) {
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "write" && argc == 4) {
      return lstmkit::Write(argv[2], argv[3]);
    }
    if (command == "same" && argc == 4) return lstmkit::Same(argv[2], argv[3]);
    std::fprintf(stderr, "usage: %s write CASE PATH | same A B\n",
                 argc > 0 ? argv[0] : "interop_roundtrip_helper");
    return 2;
  } catch (const lstmkit::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
