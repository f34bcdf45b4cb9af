#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "backward_pass.h"
#include "check.h"
#include "denormals.h"
#include "forward_pass.h"
#include "loss.h"
#include "model_impl.h"
#include "phase_profile.h"
#include "rng.h"

namespace lstmkit {

using internal::ParameterLayout;
using internal::Require;

namespace {

void InitializeParameters(const ModelConfig& config, const InitOptions& init,
                          const ParameterLayout& layout, Span<float> params) {
  internal::Rng rng(init.seed);
  const float bound = 1.0f / std::sqrt(static_cast<float>(config.hidden_size));
  for (float& p : params) p = rng.Uniform(-bound, bound);
  if (!init.forget_bias_one) return;
  const int hidden = config.hidden_size;
  for (int layer = 0; layer < config.num_layers; ++layer) {
    float* f_ih = params.data() + layout.bias_ih(layer) + hidden;
    float* f_hh = params.data() + layout.bias_hh(layer) + hidden;
    std::fill_n(f_ih, hidden, 1.0f);
    std::fill_n(f_hh, hidden, 0.0f);
  }
}

}  // namespace

// ---- Gradients -------------------------------------------------------------

Gradients::Gradients() : impl_(std::make_unique<Impl>()) {}
Gradients::~Gradients() = default;
Gradients::Gradients(const Gradients& other)
    : x(other.x),
      h0(other.h0),
      c0(other.c0),
      impl_(std::make_unique<Impl>(*other.impl_)) {}
Gradients& Gradients::operator=(const Gradients& other) {
  if (this != &other) *this = Gradients(other);
  return *this;
}
Gradients::Gradients(Gradients&&) noexcept = default;
Gradients& Gradients::operator=(Gradients&&) noexcept = default;

Span<const float> Gradients::parameter(const std::string& name) const {
  Require(impl_ != nullptr && impl_->layout != nullptr,
          "gradients are empty: fill them with Model::ComputeGradients first");
  const internal::TensorInfo& info = impl_->layout->Find(name);
  return {impl_->params.data() + info.offset, info.size};
}
Span<float> Gradients::parameters() {
  Require(impl_ != nullptr, "gradients were moved from");
  return impl_->params;
}
Span<const float> Gradients::parameters() const {
  Require(impl_ != nullptr, "gradients were moved from");
  return impl_->params;
}

// ---- Model -----------------------------------------------------------------

Model::Model(const ModelConfig& config, const InitOptions& init)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = config;
  impl_->layout = std::make_shared<const ParameterLayout>(config);
  impl_->params.resize(impl_->layout->total_size());
  InitializeParameters(config, init, *impl_->layout, impl_->params);
  // Packed on the calling thread, so that making a model starts no threads
  // and a model then set to one thread never starts any.
  impl_->threads = std::make_shared<const internal::Threads>(1);
  parameters_changed();
  set_threads(0);
}
Model::~Model() = default;
Model::Model(const Model& other)
    : impl_(std::make_unique<Impl>(*other.impl_)) {}
Model& Model::operator=(const Model& other) {
  if (this != &other) *impl_ = *other.impl_;
  return *this;
}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

const ModelConfig& Model::config() const { return impl_->config; }

void Model::set_threads(int threads) {
  Require(threads >= 0, "threads must be >= 0 (0 = all cores), got ", threads);
  impl_->requested_threads = threads;
  impl_->threads = std::make_shared<const internal::Threads>(threads);
}

int Model::threads() const { return impl_->requested_threads; }

int Model::output_width() const {
  return impl_->config.output_size > 0 ? impl_->config.output_size
                                       : impl_->layout->layer_output_size();
}

namespace {

// [outer][inner][width] -> [inner][outer][width]: batch-first to
// time-major and back.
template <typename T>
void SwapOuterDims(const T* src, int outer, int inner, int width, T* dst) {
  for (int o = 0; o < outer; ++o) {
    for (int i = 0; i < inner; ++i) {
      std::copy_n(src + (static_cast<size_t>(o) * inner + i) * width, width,
                  dst + (static_cast<size_t>(i) * outer + o) * width);
    }
  }
}

// A batch-first call's arrays in the time-major order the passes use.
struct TimeMajorCopy {
  std::vector<float> x, values;
  std::vector<int32_t> labels;
};

Input TimeMajorInput(const Model::Impl& model, const Input& input,
                     TimeMajorCopy* copy) {
  if (!model.config.batch_first) return input;
  const int in = model.config.input_size;
  copy->x.resize(input.x.size());
  SwapOuterDims(input.x.data(), input.batch, input.seq_len, in, copy->x.data());
  Input time_major = input;
  time_major.x = copy->x;
  return time_major;
}

// Targets have one row per step only with OutputSteps::kEveryStep.
Target TimeMajorTarget(const Model::Impl& model, const Input& input, int width,
                       const Target& target, TimeMajorCopy* copy) {
  if (!model.config.batch_first ||
      model.config.output_steps == OutputSteps::kLastStep) {
    return target;
  }
  Target time_major = target;
  if (!target.values.empty()) {
    copy->values.resize(target.values.size());
    SwapOuterDims(target.values.data(), input.batch, input.seq_len, width,
                  copy->values.data());
    time_major.values = copy->values;
  }
  if (!target.labels.empty()) {
    copy->labels.resize(target.labels.size());
    SwapOuterDims(target.labels.data(), input.batch, input.seq_len, 1,
                  copy->labels.data());
    time_major.labels = copy->labels;
  }
  return time_major;
}

// Where the top layer can write its rows straight into the caller's y,
// sized here: every step, no head, time-major and in the caller's order.
// Copying them afterwards took 3 % of a B = 64 H = 256 call (perf, Zen 5).
// Not when y's storage holds any of the input or initial states: sizing y
// could free them while the call still reads them. (Time-major, `input` is
// the caller's own.)
float* TopRowsInPlace(const Model::Impl& model, const Input& input,
                      std::vector<float>* y) {
  const ModelConfig& config = model.config;
  if (config.output_size != 0 ||
      config.output_steps != OutputSteps::kEveryStep || config.batch_first) {
    return nullptr;
  }
  for (const int32_t length : input.seq_lens) {
    if (length != input.seq_len) return nullptr;  // rows packed, not plain
  }
  const auto held = [&](Span<const float> span) {
    return !span.empty() && span.data() < y->data() + y->capacity() &&
           y->data() < span.data() + span.size();
  };
  if (held(input.x) || held(input.h0) || held(input.c0)) return nullptr;
  y->resize(static_cast<size_t>(input.seq_len) * input.batch *
            model.layout->layer_output_size());
  return y->data();
}

// Time-major [T][B][width] results back to batch-first, in place.
void ToBatchFirst(int seq_len, int batch, int width, std::vector<float>* v) {
  std::vector<float> swapped(v->size());
  SwapOuterDims(v->data(), seq_len, batch, width, swapped.data());
  v->swap(swapped);
}

}  // namespace

namespace {

// The buffers of one forward or training call.
struct CallBuffers {
  internal::ForwardTrace trace;
  std::vector<float> d_output;
  internal::BackwardBuffers backward;
};

// Each calling thread keeps the buffers of its last call for its next one.
// Sized afresh, they were zeroed and faulted in call after call: tens of MB
// at B=64, a third of a training step's time on 16 cores (LSTMKIT_PROFILE).
// A call made while its thread's buffers are in use gets buffers of its
// own.
class CallBuffersLease {
 public:
  CallBuffersLease() {
    ThreadSlot& slot = ThisThreadsSlot();
    if (slot.in_use) {
      own_ = std::make_unique<CallBuffers>();
    } else {
      slot.in_use = true;
      slot_ = &slot;
    }
  }
  ~CallBuffersLease() {
    if (slot_ != nullptr) slot_->in_use = false;
  }
  CallBuffersLease(const CallBuffersLease&) = delete;
  CallBuffersLease& operator=(const CallBuffersLease&) = delete;

  CallBuffers& get() { return slot_ != nullptr ? slot_->buffers : *own_; }

 private:
  struct ThreadSlot {
    CallBuffers buffers;
    bool in_use = false;
  };
  static ThreadSlot& ThisThreadsSlot() {
    thread_local ThreadSlot slot;
    return slot;
  }

  ThreadSlot* slot_ = nullptr;
  std::unique_ptr<CallBuffers> own_;
};

}  // namespace

Output Model::Forward(const Input& input) const {
  Output output;
  Forward(input, &output);
  return output;
}

void Model::Forward(const Input& caller_input, Output* output) const {
  Require(output != nullptr, "output must not be null");
  internal::ValidateInput(*impl_, caller_input);
  TimeMajorCopy copy;
  const Input input = TimeMajorInput(*impl_, caller_input, &copy);
  internal::ScopedFlushDenormals flush;
  CallBuffersLease lease;
  internal::ForwardTrace& trace = lease.get().trace;
  float* top_steps = TopRowsInPlace(*impl_, input, &output->y);
  impl_->threads->Run([&] {
    internal::RunForward(*impl_, input, /*training=*/false, &trace, top_steps);
  });
  const int width = output_width();
  if (impl_->config.output_activation == OutputActivation::kSoftmax) {
    internal::SoftmaxRows(trace.output_rows, width, trace.output.data());
  }
  const internal::SequenceLayout& seq = trace.layout;
  // Copied rather than moved: the caller's vector and the trace both keep
  // their storage for the next call.
  if (top_steps != nullptr) {
    // Already in place.
  } else if (seq.plain()) {
    output->y.assign(trace.output_data, trace.output_data + trace.output_size);
  } else if (impl_->config.output_steps == OutputSteps::kLastStep) {
    output->y.resize(static_cast<size_t>(seq.batch()) * width);
    seq.ScatterBatch(trace.output_data, width, output->y.data());
  } else {
    output->y.resize(static_cast<size_t>(seq.seq_len()) * seq.batch() * width);
    seq.Scatter(trace.output_data, width, output->y.data());
  }
  if (impl_->config.batch_first &&
      impl_->config.output_steps == OutputSteps::kEveryStep) {
    ToBatchFirst(input.seq_len, input.batch, width, &output->y);
  }
  output->h_n.assign(trace.h_n.begin(), trace.h_n.end());
  output->c_n.assign(trace.c_n.begin(), trace.c_n.end());
}

namespace {

// The target in the trace's row order: padding dropped, sorted by length.
struct PackedTarget {
  std::vector<float> values;
  std::vector<int32_t> labels;
  Target view;
};

Target TargetInLayout(const internal::SequenceLayout& seq, bool last_only,
                      int width, const Target& target, PackedTarget* packed) {
  if (seq.plain()) return target;
  const size_t rows = last_only ? seq.batch() : seq.total_rows();
  if (!target.values.empty()) {
    packed->values.resize(rows * width);
    if (last_only) {
      seq.GatherBatch(target.values.data(), width, packed->values.data());
    } else {
      seq.Gather(target.values.data(), width, packed->values.data());
    }
    packed->view.values = packed->values;
  }
  if (!target.labels.empty()) {
    packed->labels.resize(rows);
    for (int i = 0; last_only && i < seq.batch(); ++i) {
      packed->labels[i] = target.labels[seq.original(i)];
    }
    if (!last_only) seq.Gather(target.labels.data(), packed->labels.data());
    packed->view.labels = packed->labels;
  }
  return packed->view;
}

// Validates, runs forward keeping what backward needs, and evaluates the
// loss over the steps each sequence has; d_output receives dL/d(output).
internal::LossValue ForwardWithLoss(const Model::Impl& model, int width,
                                    const Input& caller_input,
                                    const Target& caller_target,
                                    const LossConfig& loss, bool training,
                                    TimeMajorCopy* copy, Input* input,
                                    internal::ForwardTrace* trace,
                                    std::vector<float>* d_output) {
  internal::ValidateInput(model, caller_input);
  const ModelConfig& config = model.config;
  const int rows = config.output_steps == OutputSteps::kLastStep
                       ? caller_input.batch
                       : caller_input.seq_len * caller_input.batch;
  internal::ValidateTarget(loss, caller_target, rows, width,
                           config.output_activation);
  *input = TimeMajorInput(model, caller_input, copy);
  const Target target =
      TimeMajorTarget(model, caller_input, width, caller_target, copy);
  internal::ScopedFlushDenormals flush;
  model.threads->Run(
      [&] { internal::RunForward(model, *input, training, trace); });
  const internal::ScopedPhase phase(internal::Phase::kLoss);
  d_output->resize(trace->output_size);
  PackedTarget packed;
  const Target in_layout = TargetInLayout(
      trace->layout, config.output_steps == OutputSteps::kLastStep, width,
      target, &packed);
  return internal::ComputeLoss(*model.threads, loss, in_layout,
                               trace->output_rows, width, trace->output_data,
                               d_output->data());
}

}  // namespace

float Model::ComputeLoss(const Input& caller_input, const Target& target,
                         const LossConfig& loss) const {
  CallBuffersLease lease;
  CallBuffers& buffers = lease.get();
  TimeMajorCopy copy;
  Input input;
  return static_cast<float>(ForwardWithLoss(*impl_, output_width(),
                                            caller_input, target, loss,
                                            /*training=*/false, &copy, &input,
                                            &buffers.trace, &buffers.d_output)
                                .mean);
}

float Model::ComputeGradients(const Input& input, const Target& target,
                              const LossConfig& loss,
                              Gradients* gradients) const {
  return ComputeGradients(input, target, loss, gradients, GradientOptions{});
}

float Model::ComputeGradients(const Input& caller_input, const Target& target,
                              const LossConfig& loss, Gradients* gradients,
                              const GradientOptions& options) const {
  Require(gradients != nullptr, "gradients must not be null");
  CallBuffersLease lease;
  CallBuffers& buffers = lease.get();
  TimeMajorCopy copy;
  Input input;
  const internal::LossValue value = ForwardWithLoss(
      *impl_, output_width(), caller_input, target, loss, /*training=*/true,
      &copy, &input, &buffers.trace, &buffers.d_output);
  if (gradients->impl_ == nullptr) {
    gradients->impl_ = std::make_unique<Gradients::Impl>();
  }
  gradients->impl_->layout = impl_->layout;
  kernels::AlignedArray<float>& d_params = gradients->impl_->params;
  if (d_params.size() != impl_->layout->total_size()) {
    d_params.Resize(impl_->layout->total_size());
    d_params.Fill(0.0f);
  }
  if (options.input) {
    internal::PackBottomInputRows(*impl_->layout, impl_->params, impl_->packed);
  }
  internal::ScopedFlushDenormals flush;
  impl_->threads->Run([&] {
    internal::RunBackward(*impl_, input, buffers.trace, buffers.d_output.data(),
                          options, &buffers.backward, gradients);
  });
  if (impl_->config.batch_first && options.input) {
    ToBatchFirst(input.seq_len, input.batch, impl_->config.input_size,
                 &gradients->x);
  }
  return static_cast<float>(value.mean);
}

std::vector<std::string> Model::parameter_names() const {
  std::vector<std::string> names;
  for (const auto& t : impl_->layout->tensors()) names.push_back(t.name);
  return names;
}

std::vector<int> Model::parameter_shape(const std::string& name) const {
  return impl_->layout->Find(name).shape;
}

Span<const float> Model::parameter(const std::string& name) const {
  const internal::TensorInfo& info = impl_->layout->Find(name);
  return {impl_->params.data() + info.offset, info.size};
}

void Model::set_parameter(const std::string& name, Span<const float> values) {
  const internal::TensorInfo& info = impl_->layout->Find(name);
  std::string shape;
  for (int d : info.shape) shape += "[" + std::to_string(d) + "]";
  internal::RequireBuffer(("values for " + name).c_str(), values.data(),
                          values.size(), info.size, shape);
  std::copy(values.begin(), values.end(), impl_->params.begin() + info.offset);
  parameters_changed();
}

Span<float> Model::parameters() { return impl_->params; }
Span<const float> Model::parameters() const { return impl_->params; }

void Model::parameters_changed() {
  internal::PackWeights(impl_->config, *impl_->layout, impl_->params,
                        impl_->precision == WeightPrecision::kBF16,
                        *impl_->threads, &impl_->packed);
}

void Model::set_weight_precision(WeightPrecision precision) {
  Require(
      precision == WeightPrecision::kF32 || precision == WeightPrecision::kBF16,
      "precision must be WeightPrecision::kF32 or kBF16");
  impl_->precision = precision;
  parameters_changed();
}

WeightPrecision Model::weight_precision() const { return impl_->precision; }

}  // namespace lstmkit
