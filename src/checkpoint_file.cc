#include "checkpoint_file.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "check.h"
#include "json_parse.h"
#include "model_file.h"
#include "parameter_layout.h"

namespace lstmkit::internal {

namespace {

using nlohmann::json;

constexpr char kFirstPrefix[] = "optimizer.first.";
constexpr char kSecondPrefix[] = "optimizer.second.";
constexpr char kOrderTensor[] = "trainer.order";
// Both state objects are flat.
constexpr size_t kStateJsonDepth = 1;

// ---- Writing ----------------------------------------------------------------

json OptimizerJson(const CheckpointContents& c) {
  const OptimizerConfig& o = c.optimizer_config;
  return {{"kind", o.kind == OptimizerConfig::Kind::kSgd ? "sgd" : "adam"},
          {"learning_rate", o.learning_rate},
          {"weight_decay", o.weight_decay},
          {"momentum", o.momentum},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"epsilon", o.epsilon},
          {"steps", c.optimizer_state.steps}};
}

json TrainerJson(const CheckpointContents& c) {
  const TrainingProgress& p = c.progress;
  const bool run = p.in_run;
  return {{"batch_size", c.batch_size},
          {"shuffle_state", std::to_string(c.shuffle_state)},
          {"in_run", run},
          {"epoch", run ? p.epoch : 0},
          {"next_batch", run ? p.next_batch : 0},
          {"rng_state", std::to_string(run ? p.rng_state : 0)},
          {"loss_sum", run ? p.loss_sum : 0.0},
          {"weight_sum", run ? p.weight_sum : 0.0}};
}

// The moment buffer `values` as one tensor per parameter, named prefix+name.
void AddMomentTensors(const ParameterLayout& layout, const char* prefix,
                      const std::vector<float>& values,
                      std::vector<TensorToWrite>* tensors) {
  Require(values.size() == layout.total_size(), "the optimizer state has ",
          values.size(), " values per buffer; the model has ",
          layout.total_size(), " parameters");
  for (TensorToWrite& t :
       ParameterTensors(layout, values.data(), Dtype::kF32)) {
    t.name = prefix + t.name;
    tensors->push_back(std::move(t));
  }
}

TensorToWrite OrderTensor(const std::vector<size_t>& order) {
  const std::vector<size_t>* values = &order;
  return {kOrderTensor,
          Dtype::kI64,
          {static_cast<int64_t>(order.size())},
          [values](uint8_t* out) {
            for (size_t index : *values) {
              for (int b = 0; b < 8; ++b) {
                *out++ = static_cast<uint8_t>(uint64_t{index} >> 8 * b);
              }
            }
          }};
}

// ---- Reading the metadata ---------------------------------------------------

// A flat JSON object from one metadata entry, read field by field with
// every value checked; it must hold exactly the expected keys.
class StateObject {
 public:
  StateObject(const std::string& source, const Metadata& metadata,
              const char* key, std::initializer_list<const char*> fields)
      : what_(source + ": metadata " + key) {
    const auto found = metadata.find(key);
    if (found == metadata.end()) Fail(what_, " is missing");
    object_ = ParseStrictJson(what_, found->second, kStateJsonDepth);
    if (!object_.is_object()) {
      Fail(what_, " must be a JSON object, got ", object_.type_name());
    }
    for (const char* field : fields) {
      if (!object_.contains(field)) Fail(what_, " has no \"", field, "\"");
    }
    if (object_.size() != fields.size()) {
      for (const auto& item : object_.items()) {
        bool known = false;
        for (const char* field : fields) known = known || item.key() == field;
        if (!known) {
          Fail(what_, " has an unknown field ", QuoteForMessage(item.key()));
        }
      }
    }
  }

  double Number(const char* field) const {
    const json& value = object_[field];
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      Fail(what_, ": ", field, " must be a finite number, got ", value.dump());
    }
    return value.get<double>();
  }
  float Float(const char* field) const {
    const double value = Number(field);
    if (std::abs(value) > std::numeric_limits<float>::max()) {
      Fail(what_, ": ", field, " is out of float range: ", value);
    }
    return static_cast<float>(value);
  }
  long long Integer(const char* field, long long min_value,
                    long long max_value) const {
    const json& value = object_[field];
    if (!value.is_number_integer() || value.get<long long>() < min_value ||
        (value.is_number_unsigned() &&
         value.get<uint64_t>() > static_cast<uint64_t>(max_value)) ||
        value.get<long long>() > max_value) {
      Fail(what_, ": ", field, " must be an integer in [", min_value, ", ",
           max_value, "], got ", value.dump());
    }
    return value.get<long long>();
  }
  bool Boolean(const char* field) const {
    const json& value = object_[field];
    if (!value.is_boolean()) {
      Fail(what_, ": ", field, " must be true or false, got ", value.dump());
    }
    return value.get<bool>();
  }
  // 64-bit generator states travel as decimal strings: JSON readers in
  // other languages round integers beyond 2^53.
  uint64_t Uint64String(const char* field) const {
    const json& value = object_[field];
    uint64_t parsed = 0;
    if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      const char* end = text.data() + text.size();
      const auto result = std::from_chars(text.data(), end, parsed);
      const bool canonical = !text.empty() && result.ptr == end &&
                             result.ec == std::errc() &&
                             (text.size() == 1 || text[0] != '0');
      if (canonical) return parsed;
    }
    Fail(what_, ": ", field,
         " must be a decimal string of an unsigned 64-bit integer, got ",
         value.dump());
  }
  std::string String(const char* field) const {
    const json& value = object_[field];
    if (!value.is_string()) {
      Fail(what_, ": ", field, " must be a string, got ", value.dump());
    }
    return value.get<std::string>();
  }
  const std::string& what() const { return what_; }

 private:
  std::string what_;
  json object_;
};

void ReadOptimizerMetadata(const std::string& source, const Metadata& m,
                           CheckpointContents* c) {
  const StateObject state(source, m, kOptimizerKey,
                          {"kind", "learning_rate", "weight_decay", "momentum",
                           "beta1", "beta2", "epsilon", "steps"});
  OptimizerConfig& o = c->optimizer_config;
  const std::string kind = state.String("kind");
  if (kind == "sgd") {
    o.kind = OptimizerConfig::Kind::kSgd;
  } else if (kind == "adam") {
    o.kind = OptimizerConfig::Kind::kAdam;
  } else {
    Fail(state.what(), ": kind must be \"sgd\" or \"adam\", got ",
         QuoteForMessage(kind));
  }
  o.learning_rate = state.Float("learning_rate");
  o.weight_decay = state.Float("weight_decay");
  o.momentum = state.Float("momentum");
  o.beta1 = state.Float("beta1");
  o.beta2 = state.Float("beta2");
  o.epsilon = state.Float("epsilon");
  c->optimizer_state.steps = state.Integer("steps", 0, LLONG_MAX);
}

void ReadTrainerMetadata(const std::string& source, const Metadata& m,
                         CheckpointContents* c) {
  const StateObject state(
      source, m, kTrainerKey,
      {"batch_size", "shuffle_state", "in_run", "epoch", "next_batch",
       "rng_state", "loss_sum", "weight_sum"});
  c->batch_size = static_cast<int>(state.Integer("batch_size", 1, INT_MAX));
  c->shuffle_state = state.Uint64String("shuffle_state");
  TrainingProgress& p = c->progress;
  p.in_run = state.Boolean("in_run");
  p.epoch = static_cast<int>(
      state.Integer("epoch", p.in_run ? 1 : 0, p.in_run ? INT_MAX : 0));
  p.next_batch =
      static_cast<int>(state.Integer("next_batch", 0, p.in_run ? INT_MAX : 0));
  p.rng_state = state.Uint64String("rng_state");
  p.loss_sum = state.Number("loss_sum");
  p.weight_sum = state.Number("weight_sum");
  if (p.loss_sum < 0 || p.weight_sum < 0) {
    Fail(state.what(), ": loss_sum and weight_sum must be >= 0, got ",
         p.loss_sum, " and ", p.weight_sum);
  }
}

// ---- Checking the training tensors ------------------------------------------

struct ExpectedTensor {
  Dtype dtype;
  std::vector<int64_t> shape;
};

void RequireTensor(const std::string& source, const SafetensorsHeader& c,
                   const std::string& name, const ExpectedTensor& expected) {
  const TensorEntry* tensor = c.Find(name);
  if (tensor == nullptr) {
    Fail(source, ": tensor ", QuoteForMessage(name), " is missing");
  }
  if (tensor->dtype != expected.dtype) {
    Fail(source, ": tensor ", QuoteForMessage(name), " has dtype ",
         DtypeName(tensor->dtype), "; a checkpoint stores it as ",
         DtypeName(expected.dtype));
  }
  if (tensor->shape != expected.shape) {
    Fail(source, ": tensor ", QuoteForMessage(name), " has shape ",
         ShapeText(tensor->shape), "; expected ", ShapeText(expected.shape));
  }
}

// The order's length is the training set's size, which only the tensor
// itself tells; it must allow the recorded position.
void RequireOrderTensor(const std::string& source, const SafetensorsHeader& c,
                        const CheckpointContents& contents) {
  const TensorEntry* order = c.Find(kOrderTensor);
  if (order == nullptr) {
    Fail(source, ": tensor \"", kOrderTensor,
         "\" is missing; the checkpoint was taken during an epoch");
  }
  if (order->dtype != Dtype::kI64 || order->shape.size() != 1 ||
      order->shape[0] < 1 || order->shape[0] > INT_MAX) {
    Fail(source, ": tensor \"", kOrderTensor, "\" must be I64 of shape [N] ",
         "with 1 <= N < 2^31, got ", DtypeName(order->dtype), " ",
         ShapeText(order->shape));
  }
  const int64_t samples = order->shape[0];
  const int64_t batches =
      (samples + contents.batch_size - 1) / contents.batch_size;
  if (contents.progress.next_batch > batches) {
    Fail(source, ": the position (batch ", contents.progress.next_batch,
         " of epoch ", contents.progress.epoch, ") is past the ", batches,
         " batches of ", samples, " samples");
  }
}

void RequireTrainingTensors(const std::string& source,
                            const ModelFileHeader& header,
                            const CheckpointContents& c) {
  const ParameterLayout layout(c.config);
  std::map<std::string, ExpectedTensor> expected;
  if (c.optimizer_state.steps > 0) {
    const bool adam = c.optimizer_config.kind == OptimizerConfig::Kind::kAdam;
    for (const TensorInfo& info : layout.tensors()) {
      const ExpectedTensor tensor{
          Dtype::kF32,
          std::vector<int64_t>(info.shape.begin(), info.shape.end())};
      expected.emplace(kFirstPrefix + info.name, tensor);
      if (adam) expected.emplace(kSecondPrefix + info.name, tensor);
    }
  }
  for (const TensorEntry& t : header.container.tensors) {
    const bool training = t.name.compare(0, std::strlen(kOptimizerTensorPrefix),
                                         kOptimizerTensorPrefix) == 0 ||
                          t.name.compare(0, std::strlen(kTrainerTensorPrefix),
                                         kTrainerTensorPrefix) == 0;
    const bool known = expected.count(t.name) > 0 ||
                       (c.progress.in_run && t.name == kOrderTensor);
    if (training && !known) {
      Fail(source, ": tensor ", QuoteForMessage(t.name),
           " does not belong in this checkpoint (optimizer ",
           c.optimizer_config.kind == OptimizerConfig::Kind::kSgd ? "sgd"
                                                                  : "adam",
           " after ", c.optimizer_state.steps, " steps, ",
           c.progress.in_run ? "during" : "between", " runs of Fit)");
    }
  }
  for (const auto& entry : expected) {
    RequireTensor(source, header.container, entry.first, entry.second);
  }
  if (c.progress.in_run) RequireOrderTensor(source, header.container, c);
}

// ---- Reading the training tensors -------------------------------------------

// Where each training tensor's values go.
class TrainingTensorReader {
 public:
  TrainingTensorReader(const ParameterLayout& layout,
                       const SafetensorsHeader& container,
                       CheckpointContents* c) {
    OptimizerState& state = c->optimizer_state;
    if (state.steps == 0) return;
    state.first.resize(layout.total_size());
    Map(layout, container, kFirstPrefix, &state.first);
    if (c->optimizer_config.kind == OptimizerConfig::Kind::kAdam) {
      state.second.resize(layout.total_size());
      Map(layout, container, kSecondPrefix, &state.second);
    }
  }

  void operator()(const TensorEntry& t, uint64_t offset_bytes,
                  const uint8_t* bytes, size_t size) {
    if (t.name == kOrderTensor) {
      order_.resize(static_cast<size_t>(t.elements));
      for (size_t i = 0; i < size / 8; ++i) {
        uint64_t value = 0;
        for (int b = 7; b >= 0; --b) value = value << 8 | bytes[8 * i + b];
        order_[offset_bytes / 8 + i] = value;
      }
      return;
    }
    DecodeFloats(Dtype::kF32, bytes, size,
                 destination_.at(&t) + offset_bytes / 4);
  }

  // The order must be a permutation of [0, N): its entries index the
  // training set.
  std::vector<size_t> TakeOrder(const std::string& source) {
    std::vector<bool> seen(order_.size(), false);
    std::vector<size_t> order(order_.size());
    for (size_t i = 0; i < order_.size(); ++i) {
      const uint64_t index = order_[i];
      if (index >= order_.size() || seen[index]) {
        Fail(source, ": tensor \"", kOrderTensor,
             "\" is not a permutation of [0, ", order_.size(), "): entry ", i,
             " is ", static_cast<int64_t>(index));
      }
      seen[index] = true;
      order[i] = static_cast<size_t>(index);
    }
    return order;
  }

 private:
  // RequireTrainingTensors made sure every moment tensor is there.
  void Map(const ParameterLayout& layout, const SafetensorsHeader& container,
           const char* prefix, std::vector<float>* values) {
    for (const TensorInfo& info : layout.tensors()) {
      destination_[container.Find(prefix + info.name)] =
          values->data() + info.offset;
    }
  }

  std::map<const TensorEntry*, float*> destination_;
  std::vector<uint64_t> order_;
};

}  // namespace

std::vector<uint8_t> EncodeCheckpoint(const CheckpointContents& c) {
  const ParameterLayout layout(c.config);
  Require(c.parameters.size() == layout.total_size(),
          "internal error: the model has ", c.parameters.size(),
          " parameters, its layout ", layout.total_size());
  std::vector<TensorToWrite> tensors =
      ParameterTensors(layout, c.parameters.data(), Dtype::kF32);
  const OptimizerState& state = c.optimizer_state;
  if (state.steps > 0) {
    AddMomentTensors(layout, kFirstPrefix, state.first, &tensors);
    if (!state.second.empty()) {
      AddMomentTensors(layout, kSecondPrefix, state.second, &tensors);
    }
  }
  if (c.progress.in_run) tensors.push_back(OrderTensor(c.progress.order));
  Metadata metadata =
      ModelMetadata(c.config, FileKind::kCheckpoint, c.extra_metadata);
  metadata[kOptimizerKey] = OptimizerJson(c).dump();
  metadata[kTrainerKey] = TrainerJson(c).dump();
  return WriteSafetensors(tensors, std::move(metadata), kChecksumKey);
}

CheckpointContents DecodeCheckpoint(ByteSource& source) {
  const std::string& name = source.name();
  const ModelFileHeader header = ReadModelFileHeader(source);
  if (header.kind != FileKind::kCheckpoint) {
    Fail(name, ": not a checkpoint but a model file",
         header.config_inferred ? " without lstmkit metadata" : "",
         "; LoadModel reads it");
  }
  CheckpointContents c;
  c.config = header.config;
  c.extra_metadata = header.extra_metadata;
  ReadOptimizerMetadata(name, header.lstmkit_metadata, &c);
  ReadTrainerMetadata(name, header.lstmkit_metadata, &c);
  RequireTrainingTensors(name, header, c);
  const ParameterLayout layout(c.config);
  TrainingTensorReader reader(layout, header.container, &c);
  c.parameters = ReadModelParameters(source, header, std::ref(reader));
  if (c.progress.in_run) c.progress.order = reader.TakeOrder(name);
  return c;
}

std::string DescribeTrainingState(const std::string& source,
                                  const Metadata& lstmkit_metadata) {
  CheckpointContents c;
  ReadOptimizerMetadata(source, lstmkit_metadata, &c);
  ReadTrainerMetadata(source, lstmkit_metadata, &c);
  std::string text =
      std::string("optimizer ") +
      (c.optimizer_config.kind == OptimizerConfig::Kind::kSgd ? "sgd"
                                                              : "adam") +
      " after " + std::to_string(c.optimizer_state.steps) +
      " steps, batch size " + std::to_string(c.batch_size) + "; ";
  if (!c.progress.in_run) return text + "between runs of Fit";
  return text + "epoch " + std::to_string(c.progress.epoch) + ", " +
         std::to_string(c.progress.next_batch) + " batches done";
}

}  // namespace lstmkit::internal
