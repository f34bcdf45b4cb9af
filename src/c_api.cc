// The C API of include/lstmkit/lstmkit.h, on top of the C++ API. Every entry
// point runs its body inside Call(), which turns each exception into a
// status and a thread-local message: no exception may unwind into C code.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "lstmkit/lstmkit.h"
#include "lstmkit/lstmkit.hpp"

// The handles. Parameter names are kept so that lstmkit_model_parameter_name
// can hand out pointers that live as long as the model.
struct lstmkit_model {
  explicit lstmkit_model(lstmkit::Model m)
      : model(std::move(m)), parameter_names(model.parameter_names()) {}

  lstmkit::Model model;
  std::vector<std::string> parameter_names;
};

// Sizes are kept so that a step checks its arguments without asking the
// model, and so without allocating.
struct lstmkit_stream {
  explicit lstmkit_stream(const lstmkit::Model& model)
      : stream(model),
        input_size(static_cast<size_t>(model.config().input_size)),
        output_width(static_cast<size_t>(model.output_width())),
        h_state_size(static_cast<size_t>(model.config().num_layers) *
                     HiddenStateWidth(model.config())),
        c_state_size(stream.state_size()) {}

  // P: proj_size, or H without a projection.
  static size_t HiddenStateWidth(const lstmkit::ModelConfig& config) {
    return static_cast<size_t>(config.proj_size > 0 ? config.proj_size
                                                    : config.hidden_size);
  }

  lstmkit::Stream stream;
  size_t input_size;
  size_t output_width;
  size_t h_state_size;  // L * P
  size_t c_state_size;  // L * H
};

namespace {

// A failure the C layer detects itself, with the status it stands for.
class CallError : public std::runtime_error {
 public:
  CallError(lstmkit_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  lstmkit_status status() const { return status_; }

 private:
  lstmkit_status status_;
};

[[noreturn]] void FailInvalid(const std::string& message) {
  throw CallError(LSTMKIT_ERROR_INVALID_ARGUMENT, message);
}

// A fixed buffer, so that recording a failure can never fail itself.
thread_local char last_error_message[2048] = "";

lstmkit_status Record(lstmkit_status status, const char* function,
                      const char* message) noexcept {
  // The C++ API starts its messages with "lstmkit: "; here the function's
  // name says where the message comes from.
  const char kCxxPrefix[] = "lstmkit: ";
  if (std::strncmp(message, kCxxPrefix, sizeof kCxxPrefix - 1) == 0) {
    message += sizeof kCxxPrefix - 1;
  }
  std::snprintf(last_error_message, sizeof last_error_message, "%s: %s",
                function, message);
  return status;
}

// Runs `body` and returns LSTMKIT_OK, or the status and message of the
// exception it threw. `library_error_status` is what an lstmkit::Error from
// the C++ API means for this function (a bad argument, a bad file, ...).
template <typename Body>
lstmkit_status Call(const char* function, lstmkit_status library_error_status,
                    Body&& body) noexcept {
  try {
    body();
    return LSTMKIT_OK;
  } catch (const CallError& e) {
    return Record(e.status(), function, e.what());
  } catch (const lstmkit::Error& e) {
    return Record(library_error_status, function, e.what());
  } catch (const std::bad_alloc&) {
    return Record(LSTMKIT_ERROR_OUT_OF_MEMORY, function, "out of memory");
  } catch (const std::length_error& e) {
    return Record(LSTMKIT_ERROR_OUT_OF_MEMORY, function, e.what());
  } catch (const std::exception& e) {
    return Record(LSTMKIT_ERROR_INTERNAL, function, e.what());
  } catch (...) {
    return Record(LSTMKIT_ERROR_INTERNAL, function, "unknown exception");
  }
}

template <typename Body>
lstmkit_status Call(const char* function, Body&& body) noexcept {
  return Call(function, LSTMKIT_ERROR_INVALID_ARGUMENT,
              std::forward<Body>(body));
}

void RequireNonNull(const void* pointer, const char* name) {
  if (pointer == nullptr) FailInvalid(std::string(name) + " is NULL");
}

void RequirePositive(long long value, const char* name) {
  if (value <= 0) {
    FailInvalid(std::string(name) + " must be positive, got " +
                std::to_string(value));
  }
}

void RequireCount(size_t actual, size_t expected, const char* name) {
  if (actual != expected) {
    FailInvalid(std::string(name) + " is " + std::to_string(actual) +
                " but must be " + std::to_string(expected));
  }
}

// The product of non-negative sizes, or an error when it does not fit in
// size_t.
size_t CheckedProduct(std::initializer_list<long long> factors,
                      const char* what) {
  size_t product = 1;
  for (long long factor : factors) {
    if (factor < 0 || __builtin_mul_overflow(
                          product, static_cast<size_t>(factor), &product)) {
      FailInvalid(std::string(what) + " is too large");
    }
  }
  return product;
}

// The struct_size protocol of the header: 0 stands for the first version,
// smaller sizes are errors, bytes past the fields this library knows must
// be zero, and fields past struct_size take their zero defaults.
size_t EffectiveStructSize(size_t struct_size, size_t first_version_size,
                           const char* name) {
  const size_t size = struct_size == 0 ? first_version_size : struct_size;
  if (size < first_version_size) {
    FailInvalid(std::string(name) + "->struct_size is " +
                std::to_string(struct_size) + ", less than the " +
                std::to_string(first_version_size) +
                " bytes of its first version");
  }
  return size;
}

template <typename Struct>
Struct ReadVersioned(const Struct* in, size_t first_version_size,
                     const char* name) {
  const size_t size =
      EffectiveStructSize(in->struct_size, first_version_size, name);
  const auto* bytes = reinterpret_cast<const unsigned char*>(in);
  if (std::any_of(bytes + std::min(size, sizeof(Struct)), bytes + size,
                  [](unsigned char b) { return b != 0; })) {
    FailInvalid(std::string(name) + " sets fields this version of lstmkit (" +
                lstmkit::Version() + ") does not know: struct_size " +
                std::to_string(size) + " > " + std::to_string(sizeof(Struct)));
  }
  Struct out{};
  std::memcpy(&out, in, std::min(size, sizeof(Struct)));
  return out;
}

template <typename Struct>
void WriteVersioned(const Struct& value, size_t first_version_size, Struct* out,
                    const char* name) {
  const size_t size =
      EffectiveStructSize(out->struct_size, first_version_size, name);
  const size_t caller_struct_size = out->struct_size;
  auto* bytes = reinterpret_cast<unsigned char*>(out);
  std::memcpy(bytes, &value, std::min(size, sizeof(Struct)));
  if (size > sizeof(Struct)) {
    std::memset(bytes + sizeof(Struct), 0, size - sizeof(Struct));
  }
  out->struct_size = caller_struct_size;
}

// The sizes of each struct's first published version. The structs have no
// padding, so every field added later changes sizeof.
constexpr size_t kModelConfigV1Size = sizeof(lstmkit_model_config);
static_assert(kModelConfigV1Size ==
                  offsetof(lstmkit_model_config, reserved) + sizeof(int32_t),
              "lstmkit_model_config must have no padding");
constexpr size_t kSaveOptionsV1Size = sizeof(lstmkit_save_options);
static_assert(kSaveOptionsV1Size ==
                  offsetof(lstmkit_save_options, reserved) + sizeof(int32_t),
              "lstmkit_save_options must have no padding");
constexpr size_t kForwardOptionsV1Size = sizeof(lstmkit_forward_options);
static_assert(kForwardOptionsV1Size ==
                  offsetof(lstmkit_forward_options, c_n) + sizeof(float*),
              "lstmkit_forward_options must have no padding");

void RequireOneOf(int32_t value, int32_t first, int32_t second,
                  const char* name) {
  if (value != first && value != second) {
    FailInvalid(std::string(name) + " must be " + std::to_string(first) +
                " or " + std::to_string(second) + ", got " +
                std::to_string(value));
  }
}

lstmkit::ModelConfig ToModelConfig(const lstmkit_model_config& c) {
  RequireOneOf(c.output_activation, LSTMKIT_OUTPUT_IDENTITY,
               LSTMKIT_OUTPUT_SOFTMAX, "config->output_activation");
  RequireOneOf(c.output_steps, LSTMKIT_OUTPUT_EVERY_STEP,
               LSTMKIT_OUTPUT_LAST_STEP, "config->output_steps");
  if (c.reserved != 0) FailInvalid("config->reserved must be 0");
  lstmkit::ModelConfig config;
  config.bidirectional = c.bidirectional != 0;
  config.proj_size = c.proj_size;
  config.input_size = c.input_size;
  config.hidden_size = c.hidden_size;
  config.num_layers = c.num_layers == 0 ? 1 : c.num_layers;
  config.output_size = c.output_size;
  config.output_activation = c.output_activation == LSTMKIT_OUTPUT_SOFTMAX
                                 ? lstmkit::OutputActivation::kSoftmax
                                 : lstmkit::OutputActivation::kIdentity;
  config.output_steps = c.output_steps == LSTMKIT_OUTPUT_LAST_STEP
                            ? lstmkit::OutputSteps::kLastStep
                            : lstmkit::OutputSteps::kEveryStep;
  return config;
}

lstmkit::WeightPrecision ToWeightPrecision(int32_t precision,
                                           const char* name) {
  RequireOneOf(precision, LSTMKIT_PRECISION_F32, LSTMKIT_PRECISION_BF16, name);
  return precision == LSTMKIT_PRECISION_BF16 ? lstmkit::WeightPrecision::kBF16
                                             : lstmkit::WeightPrecision::kF32;
}

void SetThreads(lstmkit::Model& model, int32_t num_threads, const char* name) {
  if (num_threads < 0) {
    FailInvalid(std::string(name) + " must be >= 0 (0 = all cores), got " +
                std::to_string(num_threads));
  }
  model.set_threads(num_threads);
}

lstmkit_model_config DescribeModel(const lstmkit::Model& model) {
  const lstmkit::ModelConfig& config = model.config();
  lstmkit_model_config c{};
  c.struct_size = sizeof c;
  c.input_size = config.input_size;
  c.hidden_size = config.hidden_size;
  c.num_layers = config.num_layers;
  c.output_size = config.output_size;
  c.num_threads = model.threads();
  c.output_activation =
      config.output_activation == lstmkit::OutputActivation::kSoftmax
          ? LSTMKIT_OUTPUT_SOFTMAX
          : LSTMKIT_OUTPUT_IDENTITY;
  c.output_steps = config.output_steps == lstmkit::OutputSteps::kLastStep
                       ? LSTMKIT_OUTPUT_LAST_STEP
                       : LSTMKIT_OUTPUT_EVERY_STEP;
  c.bidirectional = config.bidirectional ? 1 : 0;
  c.proj_size = config.proj_size;
  c.weight_precision =
      model.weight_precision() == lstmkit::WeightPrecision::kBF16
          ? LSTMKIT_PRECISION_BF16
          : LSTMKIT_PRECISION_F32;
  return c;
}

// Opening the file first tells "cannot read it" (an I/O error) apart from
// "read it and it is not a model" (a bad file).
void RequireReadableFile(const char* path) {
  std::error_code error;
  const std::filesystem::file_status status =
      std::filesystem::status(path, error);
  if (error) {
    throw CallError(LSTMKIT_ERROR_IO, std::string("cannot open ") + path +
                                          ": " + error.message());
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw CallError(LSTMKIT_ERROR_IO,
                    std::string(path) + " is not a regular file");
  }
  std::FILE* file = std::fopen(path, "rb");
  if (file == nullptr) {
    throw CallError(LSTMKIT_ERROR_IO, std::string("cannot open ") + path +
                                          ": " + std::strerror(errno));
  }
  std::fclose(file);
}

void RequirePath(const char* path) {
  RequireNonNull(path, "path");
  if (path[0] == '\0') FailInvalid("path is empty");
}

void RequireStateBuffers(const float* h, size_t h_count, const float* c,
                         size_t c_count, const lstmkit_stream& stream) {
  RequireNonNull(h, "h");
  RequireNonNull(c, "c");
  RequireCount(h_count, stream.h_state_size, "h_count (the stream's L * P)");
  RequireCount(c_count, stream.c_state_size, "c_count (the stream's L * H)");
}

lstmkit_status Save(const char* function, const lstmkit_model* model,
                    const char* path, const lstmkit_save_options* options) {
  return Call(function, LSTMKIT_ERROR_IO, [&] {
    RequireNonNull(model, "model");
    RequirePath(path);
    lstmkit_save_options o{};
    if (options != nullptr) {
      o = ReadVersioned(options, kSaveOptionsV1Size, "options");
    }
    RequireOneOf(o.file_dtype, LSTMKIT_FILE_F32, LSTMKIT_FILE_BF16,
                 "options->file_dtype");
    if (o.reserved != 0) FailInvalid("options->reserved must be 0");
    lstmkit::SaveOptions save;
    save.dtype = o.file_dtype == LSTMKIT_FILE_BF16 ? lstmkit::FileDtype::kBF16
                                                   : lstmkit::FileDtype::kF32;
    lstmkit::SaveModel(model->model, path, save);
  });
}

size_t OutputCount(const lstmkit::Model& model, int32_t seq_len,
                   int32_t batch) {
  RequirePositive(seq_len, "seq_len");
  RequirePositive(batch, "batch");
  const bool last_step =
      model.config().output_steps == lstmkit::OutputSteps::kLastStep;
  return CheckedProduct({last_step ? 1 : seq_len, batch, model.output_width()},
                        "the output, seq_len * batch * O,");
}

lstmkit::Input MakeInput(const lstmkit::Model& model, const float* x,
                         int32_t seq_len, int32_t batch,
                         const lstmkit_forward_options& options) {
  const lstmkit::ModelConfig& config = model.config();
  RequirePositive(seq_len, "seq_len");
  RequirePositive(batch, "batch");
  if ((options.h0 == nullptr) != (options.c0 == nullptr)) {
    FailInvalid("options->h0 and options->c0 must both be set or both NULL");
  }
  lstmkit::Input input;
  input.seq_len = seq_len;
  input.batch = batch;
  input.x = {x, CheckedProduct({seq_len, batch, config.input_size},
                               "x, seq_len * batch * I,")};
  // States are [L * D][B][P] (h) and [L * D][B][H] (c).
  const long long layers = config.num_layers * (config.bidirectional ? 2 : 1);
  const long long p =
      config.proj_size > 0 ? config.proj_size : config.hidden_size;
  if (options.h0 != nullptr) {
    input.h0 = {options.h0,
                CheckedProduct({layers, batch, p}, "h0, L * D * B * P,")};
    input.c0 = {options.c0, CheckedProduct({layers, batch, config.hidden_size},
                                           "c0, L * D * B * H,")};
  }
  if (options.seq_lens != nullptr) {
    input.seq_lens = {options.seq_lens, static_cast<size_t>(batch)};
  }
  return input;
}

lstmkit_status Forward(const char* function, const lstmkit_model* model,
                       const float* x, int32_t seq_len, int32_t batch, float* y,
                       const lstmkit_forward_options* options) {
  return Call(function, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(x, "x");
    RequireNonNull(y, "y");
    lstmkit_forward_options o{};
    if (options != nullptr) {
      o = ReadVersioned(options, kForwardOptionsV1Size, "options");
    }
    lstmkit::Output output;
    model->model.Forward(MakeInput(model->model, x, seq_len, batch, o),
                         &output);
    std::copy(output.y.begin(), output.y.end(), y);
    if (o.h_n != nullptr)
      std::copy(output.h_n.begin(), output.h_n.end(), o.h_n);
    if (o.c_n != nullptr)
      std::copy(output.c_n.begin(), output.c_n.end(), o.c_n);
  });
}

lstmkit_status Chunk(const char* function, lstmkit_stream* stream,
                     int32_t steps, const float* x, float* y) {
  return Call(function, [&] {
    RequireNonNull(stream, "stream");
    RequireNonNull(x, "x");
    RequireNonNull(y, "y");
    RequirePositive(steps, "steps");
    // steps < 2^31 and the widths < 2^21: the products fit in size_t.
    const size_t n = static_cast<size_t>(steps);
    stream->stream.Chunk(steps, {x, n * stream->input_size},
                         {y, n * stream->output_width});
  });
}

}  // namespace

// ---- Status codes and errors --------------------------------------------

const char* lstmkit_version(void) { return lstmkit::Version(); }

const char* lstmkit_status_string(lstmkit_status status) {
  switch (status) {
    case LSTMKIT_OK:
      return "ok";
    case LSTMKIT_ERROR_INVALID_ARGUMENT:
      return "invalid argument";
    case LSTMKIT_ERROR_IO:
      return "input/output error";
    case LSTMKIT_ERROR_BAD_FILE:
      return "bad model file";
    case LSTMKIT_ERROR_OUT_OF_MEMORY:
      return "out of memory";
    case LSTMKIT_ERROR_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

const char* lstmkit_last_error(void) { return last_error_message; }

// ---- Models ----------------------------------------------------------------

lstmkit_status lstmkit_model_create(const lstmkit_model_config* config,
                                    uint64_t seed, lstmkit_model** out) {
  return Call(__func__, [&] {
    RequireNonNull(config, "config");
    RequireNonNull(out, "out");
    const lstmkit_model_config c =
        ReadVersioned(config, kModelConfigV1Size, "config");
    lstmkit::InitOptions init;
    init.seed = seed;
    init.forget_bias_one = c.forget_bias_one != 0;
    const lstmkit::WeightPrecision precision =
        ToWeightPrecision(c.weight_precision, "config->weight_precision");
    auto model =
        std::make_unique<lstmkit_model>(lstmkit::Model(ToModelConfig(c), init));
    SetThreads(model->model, c.num_threads, "config->num_threads");
    model->model.set_weight_precision(precision);
    *out = model.release();
  });
}

lstmkit_status lstmkit_model_load(const char* path, lstmkit_model** out) {
  return Call(__func__, LSTMKIT_ERROR_BAD_FILE, [&] {
    RequirePath(path);
    RequireNonNull(out, "out");
    RequireReadableFile(path);
    *out = new lstmkit_model(lstmkit::LoadModel(path));
  });
}

lstmkit_status lstmkit_model_load_buffer(const void* data, size_t size,
                                         lstmkit_model** out) {
  return Call(__func__, LSTMKIT_ERROR_BAD_FILE, [&] {
    RequireNonNull(data, "data");
    RequireNonNull(out, "out");
    const lstmkit::Span<const uint8_t> bytes(static_cast<const uint8_t*>(data),
                                             size);
    *out = new lstmkit_model(lstmkit::LoadModelFromBuffer(bytes));
  });
}

lstmkit_status lstmkit_model_save(const lstmkit_model* model,
                                  const char* path) {
  return Save(__func__, model, path, nullptr);
}

lstmkit_status lstmkit_model_save_ex(const lstmkit_model* model,
                                     const char* path,
                                     const lstmkit_save_options* options) {
  return Save(__func__, model, path, options);
}

void lstmkit_model_free(lstmkit_model* model) { delete model; }

lstmkit_status lstmkit_model_get_config(const lstmkit_model* model,
                                        lstmkit_model_config* config) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(config, "config");
    WriteVersioned(DescribeModel(model->model), kModelConfigV1Size, config,
                   "config");
  });
}

lstmkit_status lstmkit_model_set_threads(lstmkit_model* model,
                                         int32_t num_threads) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    SetThreads(model->model, num_threads, "num_threads");
  });
}

lstmkit_status lstmkit_model_set_weight_precision(lstmkit_model* model,
                                                  int32_t weight_precision) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    model->model.set_weight_precision(
        ToWeightPrecision(weight_precision, "weight_precision"));
  });
}

lstmkit_status lstmkit_model_output_width(const lstmkit_model* model,
                                          int32_t* width) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(width, "width");
    *width = model->model.output_width();
  });
}

lstmkit_status lstmkit_model_output_count(const lstmkit_model* model,
                                          int32_t seq_len, int32_t batch,
                                          size_t* count) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(count, "count");
    *count = OutputCount(model->model, seq_len, batch);
  });
}

// ---- Batch inference -------------------------------------------------------

lstmkit_status lstmkit_model_forward(const lstmkit_model* model, const float* x,
                                     int32_t seq_len, int32_t batch, float* y) {
  return Forward(__func__, model, x, seq_len, batch, y, nullptr);
}

lstmkit_status lstmkit_model_forward_ex(
    const lstmkit_model* model, const float* x, int32_t seq_len, int32_t batch,
    float* y, const lstmkit_forward_options* options) {
  return Forward(__func__, model, x, seq_len, batch, y, options);
}

// ---- Parameters ------------------------------------------------------------

lstmkit_status lstmkit_model_parameter_count(const lstmkit_model* model,
                                             size_t* count) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(count, "count");
    *count = model->parameter_names.size();
  });
}

lstmkit_status lstmkit_model_parameter_name(const lstmkit_model* model,
                                            size_t index, const char** name) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(name, "name");
    if (index >= model->parameter_names.size()) {
      FailInvalid("index " + std::to_string(index) +
                  " is out of range: the model has " +
                  std::to_string(model->parameter_names.size()) +
                  " parameters");
    }
    *name = model->parameter_names[index].c_str();
  });
}

lstmkit_status lstmkit_model_parameter_shape(const lstmkit_model* model,
                                             const char* name, int32_t* rank,
                                             int64_t dims[LSTMKIT_MAX_RANK],
                                             size_t* count) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(name, "name");
    RequireNonNull(rank, "rank");
    RequireNonNull(dims, "dims");
    RequireNonNull(count, "count");
    const std::vector<int> shape = model->model.parameter_shape(name);
    if (shape.size() > LSTMKIT_MAX_RANK) {
      throw CallError(LSTMKIT_ERROR_INTERNAL,
                      std::string(name) +
                          " has more than LSTMKIT_MAX_RANK "
                          "dimensions");
    }
    size_t elements = 1;
    for (int i = 0; i < LSTMKIT_MAX_RANK; ++i) {
      const bool in_shape = i < static_cast<int>(shape.size());
      dims[i] = in_shape ? shape[i] : 0;
      if (in_shape) elements *= static_cast<size_t>(shape[i]);
    }
    *rank = static_cast<int32_t>(shape.size());
    *count = elements;
  });
}

lstmkit_status lstmkit_model_get_parameter(const lstmkit_model* model,
                                           const char* name, float* values,
                                           size_t count) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(name, "name");
    RequireNonNull(values, "values");
    const lstmkit::Span<const float> parameter = model->model.parameter(name);
    RequireCount(count, parameter.size(),
                 ("count (the size of " + std::string(name) + ")").c_str());
    std::copy(parameter.begin(), parameter.end(), values);
  });
}

lstmkit_status lstmkit_model_set_parameter(lstmkit_model* model,
                                           const char* name,
                                           const float* values, size_t count) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(name, "name");
    RequireNonNull(values, "values");
    const size_t expected = model->model.parameter(name).size();
    RequireCount(count, expected,
                 ("count (the size of " + std::string(name) + ")").c_str());
    model->model.set_parameter(name, {values, count});
  });
}

// ---- Streams ---------------------------------------------------------------

lstmkit_status lstmkit_stream_create(const lstmkit_model* model,
                                     lstmkit_stream** out) {
  return Call(__func__, [&] {
    RequireNonNull(model, "model");
    RequireNonNull(out, "out");
    *out = new lstmkit_stream(model->model);
  });
}

lstmkit_status lstmkit_stream_step(lstmkit_stream* stream, const float* x,
                                   float* y) {
  return Chunk(__func__, stream, 1, x, y);
}

lstmkit_status lstmkit_stream_chunk(lstmkit_stream* stream, int32_t steps,
                                    const float* x, float* y) {
  return Chunk(__func__, stream, steps, x, y);
}

lstmkit_status lstmkit_stream_reset(lstmkit_stream* stream) {
  return Call(__func__, [&] {
    RequireNonNull(stream, "stream");
    stream->stream.Reset();
  });
}

lstmkit_status lstmkit_stream_state_size(const lstmkit_stream* stream,
                                         size_t* h_count, size_t* c_count) {
  return Call(__func__, [&] {
    RequireNonNull(stream, "stream");
    RequireNonNull(h_count, "h_count");
    RequireNonNull(c_count, "c_count");
    *h_count = stream->h_state_size;
    *c_count = stream->c_state_size;
  });
}

lstmkit_status lstmkit_stream_get_state(const lstmkit_stream* stream, float* h,
                                        size_t h_count, float* c,
                                        size_t c_count) {
  return Call(__func__, [&] {
    RequireNonNull(stream, "stream");
    RequireStateBuffers(h, h_count, c, c_count, *stream);
    stream->stream.GetState({h, h_count}, {c, c_count});
  });
}

lstmkit_status lstmkit_stream_set_state(lstmkit_stream* stream, const float* h,
                                        size_t h_count, const float* c,
                                        size_t c_count) {
  return Call(__func__, [&] {
    RequireNonNull(stream, "stream");
    RequireStateBuffers(h, h_count, c, c_count, *stream);
    stream->stream.SetState({h, h_count}, {c, c_count});
  });
}

void lstmkit_stream_free(lstmkit_stream* stream) { delete stream; }
