#include <algorithm>
#include <vector>

#include "check.h"
#include "denormals.h"
#include "forward_pass.h"
#include "model_impl.h"

namespace lstmkit {

using internal::Require;

namespace {

template <typename Impl>
void RequireStateBuffers(const Impl& s, const float* h, size_t h_size,
                         const float* c, size_t c_size) {
  const size_t expected = static_cast<size_t>(s.layers) * s.hidden;
  auto shape = [&] {
    return "[L][H] = " + internal::ShapeString({s.layers, s.hidden});
  };
  internal::RequireBufferLazy("h", h, h_size, expected, shape);
  internal::RequireBufferLazy("c", c, c_size, expected, shape);
}

}  // namespace

// Buffers sized once for the model: per layer the gate row and two h rows
// (the recurrent GEMV reads all of h_prev while the tail writes h), c in
// place, and the head's output row.
struct Stream::Impl {
  const Model::Impl* model = nullptr;
  int layers = 0;
  int hidden = 0;
  int gate_width = 0;
  std::vector<float> gates;  // [gate_width]
  std::vector<float> h;      // [2][L][H]: current and next
  std::vector<float> c;      // [L][H]
  std::vector<float> y;      // [O]
  int current = 0;           // which half of h holds the state

  float* h_state(int half, int layer) {
    return h.data() + (static_cast<size_t>(half) * layers + layer) * hidden;
  }
};

Stream::Stream(const Model& model) : impl_(std::make_unique<Impl>()) {
  const Model::Impl& m = *model.impl_;
  impl_->model = &m;
  impl_->layers = m.config.num_layers;
  impl_->hidden = m.config.hidden_size;
  impl_->gate_width = m.packed.gates.width();
  impl_->gates.resize(impl_->gate_width);
  impl_->h.resize(2 * state_size());
  impl_->c.resize(state_size());
  impl_->y.resize(model.output_width());
  Reset();
}
Stream::~Stream() = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;

size_t Stream::state_size() const {
  return static_cast<size_t>(impl_->layers) * impl_->hidden;
}

void Stream::Reset() {
  std::fill(impl_->h.begin(), impl_->h.end(), 0.0f);
  std::fill(impl_->c.begin(), impl_->c.end(), 0.0f);
  impl_->current = 0;
}

void Stream::GetState(Span<float> h, Span<float> c) const {
  RequireStateBuffers(*impl_, h.data(), h.size(), c.data(), c.size());
  const float* src = impl_->h.data() + impl_->current * state_size();
  std::copy_n(src, state_size(), h.data());
  std::copy_n(impl_->c.data(), state_size(), c.data());
}

void Stream::SetState(Span<const float> h, Span<const float> c) {
  RequireStateBuffers(*impl_, h.data(), h.size(), c.data(), c.size());
  impl_->current = 0;
  std::copy(h.begin(), h.end(), impl_->h.begin());
  std::copy(c.begin(), c.end(), impl_->c.begin());
}

namespace {

// One step through every layer and the head, from x to impl.y.
void StepOnce(Stream::Impl& s, const float* x) {
  const Model::Impl& m = *s.model;
  const internal::PackedWeights& packed = m.packed;
  const kernels::KernelTable& kt = *packed.kernels;
  const int next = 1 - s.current;
  const float* in = x;
  for (int layer = 0; layer < s.layers; ++layer) {
    const internal::PackedLayer& w = packed.layers[layer];
    const int in_size = m.layout->layer_input_size(layer);
    std::copy(w.bias.begin(), w.bias.end(), s.gates.begin());
    kt.gemv_packed(s.gate_width, in_size, in, w.w_ih, 1.0f, s.gates.data());
    kernels::LstmStepArgs step;
    step.batch = 1;
    step.hidden = s.hidden;
    step.h_prev = s.h_state(s.current, layer);
    step.w_hh = &w.w_hh;
    step.gates = s.gates.data();
    step.gate_stride = s.gate_width;
    step.store_gates = false;
    float* c = s.c.data() + static_cast<size_t>(layer) * s.hidden;
    step.c_prev = c;
    step.c = c;
    step.h = s.h_state(next, layer);
    step.mr = 1;
    kt.lstm_step(step);
    in = step.h;
  }
  s.current = next;
  const ModelConfig& config = m.config;
  if (config.output_size == 0) {
    std::copy_n(in, s.hidden, s.y.data());
    return;
  }
  const float* bias = m.param(m.layout->head_bias());
  std::copy_n(bias, config.output_size, s.y.data());
  kt.gemv_packed(config.output_size, s.hidden, in, packed.head, 1.0f,
                 s.y.data());
  if (config.output_activation == OutputActivation::kSoftmax) {
    internal::SoftmaxRows(1, config.output_size, s.y.data());
  }
}

}  // namespace

void Stream::Step(Span<const float> x, Span<float> y) { Chunk(1, x, y); }

void Stream::Chunk(int steps, Span<const float> x, Span<float> y) {
  internal::RequirePositive("steps", steps);
  const Model::Impl& m = *impl_->model;
  const int in = m.config.input_size;
  const int out = static_cast<int>(impl_->y.size());
  internal::RequireBufferLazy(
      "x", x.data(), x.size(), static_cast<size_t>(steps) * in, [&] {
        return "[steps][I] = " + internal::ShapeString({steps, in});
      });
  internal::RequireBufferLazy(
      "y", y.data(), y.size(), static_cast<size_t>(steps) * out, [&] {
        return "[steps][O] = " + internal::ShapeString({steps, out});
      });
  internal::ScopedFlushDenormals flush;
  for (int t = 0; t < steps; ++t) {
    StepOnce(*impl_, x.data() + static_cast<size_t>(t) * in);
    std::copy(impl_->y.begin(), impl_->y.end(),
              y.data() + static_cast<size_t>(t) * out);
  }
}

}  // namespace lstmkit
