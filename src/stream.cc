#include <algorithm>
#include <vector>

#include "check.h"
#include "denormals.h"
#include "forward_pass.h"
#include "model_impl.h"
#include "step_team.h"

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

// Buffers sized once for the model: the gate row, two h rows per layer
// (the recurrent GEMV reads all of h_prev while the tail writes h), and c,
// updated in place.
struct Stream::Impl {
  const Model::Impl* model = nullptr;
  int layers = 0;
  int hidden = 0;
  int gate_width = 0;
  std::vector<float> gates;  // [gate_width]
  std::vector<float> h;      // [2][L][H]: current and next
  std::vector<float> c;      // [L][H]
  int outputs = 0;           // O
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
  impl_->outputs = model.output_width();
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

// Below this many bytes of weights per step, starting threads costs more
// than the step itself.
constexpr size_t kParallelStepBytes = 256 * 1024;

// One phase of one step, over panels [first, first + count) of its output:
// layer `phase` (< L) computes those hidden units of its h; phase L writes
// those columns of the step's output row y_t. `current` is the half of the
// h buffer that holds the state before the step.
void RunPhase(Stream::Impl& s, const float* x_t, float* y_t, int current,
              int phase, int first, int count) {
  const Model::Impl& m = *s.model;
  const internal::PackedWeights& packed = m.packed;
  const kernels::KernelTable& kt = *packed.kernels;
  const int next = 1 - current;
  const int pw = kernels::kPanelVectors * kt.lanes;
  if (phase < s.layers) {
    const int layer = phase;
    const internal::PackedLayer& w = packed.layers[layer];
    const float* in = layer == 0 ? x_t : s.h_state(next, layer - 1);
    const kernels::PackedPanels w_ih = w.w_ih.Panels(first, count);
    float* gates = s.gates.data() + static_cast<size_t>(first) * pw;
    std::copy_n(w.bias.data() + static_cast<size_t>(first) * pw, w_ih.n, gates);
    const int in_size = m.layout->layer_input_size(layer);
    if (packed.bf16) {
      kt.gemv_packed_bf16(w_ih.n, in_size, in, w.w_ih_bf16.Panels(first, count),
                          1.0f, gates);
    } else {
      kt.gemv_packed(w_ih.n, in_size, in, w_ih, 1.0f, gates);
    }
    kernels::LstmStepArgs step;
    step.batch = 1;
    step.hidden = s.hidden;
    step.h_prev = s.h_state(current, layer);
    step.w_hh = &w.w_hh;
    step.w_hh_bf16 = packed.w_hh_bf16(layer);
    step.first_panel = first;
    step.panel_count = count;
    step.gates = s.gates.data();
    step.gate_stride = s.gate_width;
    step.store_gates = false;
    float* c = s.c.data() + static_cast<size_t>(layer) * s.hidden;
    step.c_prev = c;
    step.c = c;
    step.h = s.h_state(next, layer);
    step.mr = 1;
    kt.lstm_step(step);
    return;
  }
  const float* top = s.h_state(next, s.layers - 1);
  const ModelConfig& config = m.config;
  const int begin = first * pw;
  if (config.output_size == 0) {
    const int end = std::min(s.hidden, (first + count) * pw);
    if (end > begin) std::copy(top + begin, top + end, y_t + begin);
    return;
  }
  const kernels::PackedPanels head = packed.head.Panels(first, count);
  if (head.n <= 0) return;
  std::copy_n(m.param(m.layout->head_bias()) + begin, head.n, y_t + begin);
  if (packed.bf16) {
    kt.gemv_packed_bf16(head.n, s.hidden, top,
                        packed.head_bf16.Panels(first, count), 1.0f,
                        y_t + begin);
  } else {
    kt.gemv_packed(head.n, s.hidden, top, head, 1.0f, y_t + begin);
  }
}

// Panels of each phase's output: gate panels for the layers (the same
// panels as the hidden units), then the output row's.
int OutputPanels(const Stream::Impl& s) {
  const Model::Impl& m = *s.model;
  const int pw = kernels::kPanelVectors * m.packed.kernels->lanes;
  const int width =
      m.config.output_size > 0 ? m.config.output_size : m.config.hidden_size;
  return (width + pw - 1) / pw;
}

size_t WeightBytesPerStep(const Model::Impl& m) {
  return m.params.size() * sizeof(float);
}

}  // namespace

void Stream::Step(Span<const float> x, Span<float> y) { Chunk(1, x, y); }

void Stream::Chunk(int steps, Span<const float> x, Span<float> y) {
  internal::RequirePositive("steps", steps);
  const Model::Impl& m = *impl_->model;
  const int in = m.config.input_size;
  const int out = impl_->outputs;
  internal::RequireBufferLazy(
      "x", x.data(), x.size(), static_cast<size_t>(steps) * in, [&] {
        return "[steps][I] = " + internal::ShapeString({steps, in});
      });
  internal::RequireBufferLazy(
      "y", y.data(), y.size(), static_cast<size_t>(steps) * out, [&] {
        return "[steps][O] = " + internal::ShapeString({steps, out});
      });
  internal::ScopedFlushDenormals flush;
  Impl& s = *impl_;
  const int phases = s.layers + 1;
  const int start = s.current;
  auto phase_work = [&](int index, int first, int count) {
    const int t = index / phases;
    RunPhase(s, x.data() + static_cast<size_t>(t) * in,
             y.data() + static_cast<size_t>(t) * out, (start + t) % 2,
             index % phases, first, count);
  };
  const int gate_panels = m.packed.gates.panels();
  const internal::Threads& threads = *m.threads;
  if (threads.requested() == 1 || WeightBytesPerStep(m) < kParallelStepBytes) {
    for (int i = 0; i < steps * phases; ++i) {
      phase_work(i, 0, i % phases < s.layers ? gate_panels : OutputPanels(s));
    }
  } else {
    // Hidden units sliced across a team: each thread keeps its slice of the
    // weights in its own cache from step to step.
    const int slices = internal::StepTeam::SlicesFor(threads, gate_panels);
    const int output_panels = OutputPanels(s);
    threads.Run([&] {
      internal::StepTeam::Run(
          threads, steps * phases, slices, [&](int index, int slice) {
            const int total =
                index % phases < s.layers ? gate_panels : output_panels;
            const auto [first, count] =
                internal::SlicePanels(total, slices, slice);
            if (count > 0) phase_work(index, first, count);
          });
    });
  }
  s.current = (start + steps) % 2;
  if (m.config.output_activation == OutputActivation::kSoftmax) {
    internal::SoftmaxRows(steps, out, y.data());
  }
}

}  // namespace lstmkit
