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
  internal::RequireBufferLazy("h", h, h_size, s.h_size(), [&] {
    return "[L][P] = " + internal::ShapeString({s.layers, s.state});
  });
  internal::RequireBufferLazy("c", c, c_size, s.c_size(), [&] {
    return "[L][H] = " + internal::ShapeString({s.layers, s.hidden});
  });
}

}  // namespace

// Buffers sized once for the model: the gate row, two h rows per layer
// (the recurrent GEMV reads all of h_prev while the tail writes h), and c,
// updated in place.
struct Stream::Impl {
  const Model::Impl* model = nullptr;
  int layers = 0;
  int hidden = 0;  // H
  int state = 0;   // P: proj_size, or H
  bool projected = false;
  int gate_width = 0;
  std::vector<float> gates;  // [gate_width]
  std::vector<float> r;      // [H]: the cell's output before W_hr
  std::vector<float> h;      // [2][L][P]: current and next
  std::vector<float> c;      // [L][H]
  int outputs = 0;           // O
  int current = 0;           // which half of h holds the state

  float* h_state(int half, int layer) {
    return h.data() + (static_cast<size_t>(half) * layers + layer) * state;
  }
  size_t h_size() const { return static_cast<size_t>(layers) * state; }
  size_t c_size() const { return static_cast<size_t>(layers) * hidden; }
};

Stream::Stream(const Model& model) : impl_(std::make_unique<Impl>()) {
  const Model::Impl& m = *model.impl_;
  Require(!m.config.bidirectional,
          "a Stream needs a unidirectional model: a bidirectional layer reads "
          "the whole sequence before its first output");
  impl_->model = &m;
  impl_->layers = m.config.num_layers;
  impl_->hidden = m.config.hidden_size;
  impl_->state = m.layout->state_width();
  impl_->projected = impl_->state != impl_->hidden;
  impl_->gate_width = m.packed.gates.width();
  impl_->gates.resize(impl_->gate_width);
  impl_->r.resize(impl_->projected ? impl_->hidden : 0);
  impl_->h.resize(2 * impl_->h_size());
  impl_->c.resize(impl_->c_size());
  impl_->outputs = model.output_width();
  Reset();
}
Stream::~Stream() = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;

size_t Stream::state_size() const { return impl_->c_size(); }
size_t Stream::h_state_size() const { return impl_->h_size(); }

void Stream::Reset() {
  std::fill(impl_->h.begin(), impl_->h.end(), 0.0f);
  std::fill(impl_->c.begin(), impl_->c.end(), 0.0f);
  impl_->current = 0;
}

void Stream::GetState(Span<float> h, Span<float> c) const {
  RequireStateBuffers(*impl_, h.data(), h.size(), c.data(), c.size());
  const float* src = impl_->h.data() + impl_->current * impl_->h_size();
  std::copy_n(src, impl_->h_size(), h.data());
  std::copy_n(impl_->c.data(), impl_->c_size(), c.data());
}

void Stream::SetState(Span<const float> h, Span<const float> c) {
  RequireStateBuffers(*impl_, h.data(), h.size(), c.data(), c.size());
  impl_->current = 0;
  std::copy(h.begin(), h.end(), impl_->h.begin());
  std::copy(c.begin(), c.end(), impl_->c.begin());
}

namespace {

// Without a head or a projection the output row is the top layer's h,
// which each slice of the top layer's cell phase has just written for its
// own hidden units: the slice copies them there, and the step needs no
// phase, and no barrier, of its own for the output.
bool OutputInCellPhase(const Stream::Impl& s) {
  return s.model->config.output_size == 0 && !s.projected;
}

// Phases of one step: per layer the cell (sliced over hidden units) and,
// with a projection, h = W_hr r (sliced over P), then the output row.
int PhasesPerLayer(const Stream::Impl& s) { return s.projected ? 2 : 1; }
int PhasesPerStep(const Stream::Impl& s) {
  return s.layers * PhasesPerLayer(s) + (OutputInCellPhase(s) ? 0 : 1);
}

// The cell of one layer for hidden-unit panels [first, first + count):
// x W_ih + b into the gate row, then the recurrent product and the gate
// tails.
void CellPanels(Stream::Impl& s, const float* x_t, int current, int layer,
                int first, int count) {
  const Model::Impl& m = *s.model;
  const internal::PackedWeights& packed = m.packed;
  const kernels::KernelTable& kt = *packed.kernels;
  const int next = 1 - current;
  const int pw = kernels::kPanelVectors * kt.lanes;
  const internal::PackedLayer& w = packed.layer(layer);
  const float* in = layer == 0 ? x_t : s.h_state(next, layer - 1);
  const kernels::PackedPanels w_ih = w.w_ih.Panels(first, count);
  float* gates = s.gates.data() + static_cast<size_t>(first) * pw;
  const float* bias = w.bias.data() + static_cast<size_t>(first) * pw;
  const int in_size = m.layout->layer_input_size(layer);
  if (packed.bf16) {
    kt.gemv_packed_bf16(w_ih.n, in_size, in, w.w_ih_bf16.Panels(first, count),
                        bias, gates);
  } else {
    kt.gemv_packed(w_ih.n, in_size, in, w_ih, bias, gates);
  }
  kernels::LstmStepArgs step;
  step.batch = 1;
  step.hidden = s.hidden;
  step.h_prev =
      kernels::StateRows::Contiguous(s.h_state(current, layer), s.state);
  step.w_hh = &w.w_hh;
  step.w_hh_bf16 = packed.w_hh_bf16(layer);
  step.first_panel = first;
  step.panel_count = count;
  step.gates = s.gates.data();
  step.gate_stride = s.gate_width;
  step.store_gates = false;
  float* c = s.c.data() + static_cast<size_t>(layer) * s.hidden;
  step.c_prev = kernels::StateRows::Contiguous(c, s.hidden);
  step.c = c;
  // With a projection the cell's output is r, projected in the next phase.
  step.h = s.projected ? s.r.data() : s.h_state(next, layer);
  step.mr = 1;
  kt.lstm_step(step);
}

// Whether one thread's weights for `count` panels of a layer are between
// half of L2 and eight times it: then a step that walks its panels pair by
// pair, both matrices of a pair together, in the opposite order to the step
// before, finds the pairs it starts with still in L2. Weights that fit L2
// stay there anyway, and beyond eight times L2 almost nothing is left to
// find while the extra calls cost. On Zen 5 (1 MiB L2, one thread, best of
// 9 alternating runs): f32 at H = 256 (2 MB) 1.24x, H = 512 (8 MB) 1.01x;
// bfloat16 at H = 256 (1 MB) 1.02x, H = 512 (4 MB) 1.17x; H = 64 and
// H = 1024 (32 MB) ran 3-5 % slower walked, and are not. On Zen 3 (AVX2),
// where widening bfloat16 costs a second load per vector pair, a bfloat16
// step walked this way ran 3-7 % slower on one thread: bfloat16 walks on
// AVX-512 only.
bool WalksPairsInTurn(const Stream::Impl& s, int layer, int count) {
  const Model::Impl& m = *s.model;
  if (m.packed.bf16 && m.packed.kernels->lanes < 16) return false;
  const size_t pw = kernels::kPanelVectors * m.packed.kernels->lanes;
  const size_t rows = m.layout->layer_input_size(layer) + s.state;
  const size_t bytes =
      count * pw * rows * (m.packed.bf16 ? sizeof(uint16_t) : sizeof(float));
  const size_t l2 = kernels::Caches().l2;
  return bytes > l2 / 2 && bytes <= 8 * l2;
}

// The cell of one layer for hidden-unit panels [first, first + count).
void CellPhase(Stream::Impl& s, const float* x_t, int current, int layer,
               int first, int count) {
  if (!WalksPairsInTurn(s, layer, count)) {
    return CellPanels(s, x_t, current, layer, first, count);
  }
  // Every panel's sums keep their order (x W_ih, then h W_hh), so the
  // bits do not depend on the walk.
  const int pairs = (count + 1) / 2;
  for (int i = 0; i < pairs; ++i) {
    const int pair = current == 1 ? pairs - 1 - i : i;
    const int begin = first + 2 * pair;
    CellPanels(s, x_t, current, layer, begin,
               std::min(2, first + count - begin));
  }
}

// h = W_hr r of one layer for output panels [first, first + count).
void ProjectionPhase(Stream::Impl& s, int current, int layer, int first,
                     int count) {
  const internal::PackedWeights& packed = s.model->packed;
  const kernels::KernelTable& kt = *packed.kernels;
  const internal::PackedLayer& w = packed.layer(layer);
  const kernels::PackedPanels w_hr = w.w_hr.Panels(first, count);
  if (w_hr.n <= 0) return;
  float* h = s.h_state(1 - current, layer) + first * w_hr.panel_width;
  if (packed.bf16) {
    kt.gemv_packed_bf16(w_hr.n, s.hidden, s.r.data(),
                        w.w_hr_bf16.Panels(first, count), nullptr, h);
  } else {
    kt.gemv_packed(w_hr.n, s.hidden, s.r.data(), w_hr, nullptr, h);
  }
}

// Units [begin, end) of the top layer's h into the output row, which is
// that h where there is no head.
void CopyTopUnits(Stream::Impl& s, float* y_t, int current, int begin,
                  int end) {
  const float* top = s.h_state(1 - current, s.layers - 1);
  end = std::min(s.state, end);
  if (end > begin) std::copy(top + begin, top + end, y_t + begin);
}

// Columns [first, first + count) panels of the step's output row.
void OutputPhase(Stream::Impl& s, float* y_t, int current, int first,
                 int count) {
  const Model::Impl& m = *s.model;
  const internal::PackedWeights& packed = m.packed;
  const kernels::KernelTable& kt = *packed.kernels;
  const int pw = kernels::kPanelVectors * kt.lanes;
  const float* top = s.h_state(1 - current, s.layers - 1);
  const int begin = first * pw;
  if (m.config.output_size == 0) {
    return CopyTopUnits(s, y_t, current, begin, (first + count) * pw);
  }
  const kernels::PackedPanels head = packed.head.Panels(first, count);
  if (head.n <= 0) return;
  const float* bias = m.param(m.layout->head_bias()) + begin;
  if (packed.bf16) {
    kt.gemv_packed_bf16(head.n, s.state, top,
                        packed.head_bf16.Panels(first, count), bias,
                        y_t + begin);
  } else {
    kt.gemv_packed(head.n, s.state, top, head, bias, y_t + begin);
  }
}

int PanelsOf(const Stream::Impl& s, int width) {
  const int pw = kernels::kPanelVectors * s.model->packed.kernels->lanes;
  return (width + pw - 1) / pw;
}

// Whether phase `phase` of a step is the output row's own.
bool IsOutputPhase(const Stream::Impl& s, int phase) {
  return !OutputInCellPhase(s) && phase == PhasesPerStep(s) - 1;
}

// The panels that phase `phase` of a step is sliced over.
int PhasePanels(const Stream::Impl& s, int phase) {
  if (IsOutputPhase(s, phase)) return PanelsOf(s, s.outputs);
  const bool projection = phase % PhasesPerLayer(s) == 1;
  return projection ? PanelsOf(s, s.state) : s.model->packed.gates.panels();
}

// One phase of one step; `current` is the half of the h buffer that holds
// the state before the step.
void RunPhase(Stream::Impl& s, const float* x_t, float* y_t, int current,
              int phase, int first, int count) {
  if (IsOutputPhase(s, phase)) {
    return OutputPhase(s, y_t, current, first, count);
  }
  const int layer = phase / PhasesPerLayer(s);
  if (phase % PhasesPerLayer(s) == 0) {
    CellPhase(s, x_t, current, layer, first, count);
  } else {
    ProjectionPhase(s, current, layer, first, count);
  }
  if (OutputInCellPhase(s) && layer == s.layers - 1) {
    const int lanes = s.model->packed.kernels->lanes;
    CopyTopUnits(s, y_t, current, first * lanes, (first + count) * lanes);
  }
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
  const int phases = PhasesPerStep(s);
  const int start = s.current;
  auto phase_work = [&](int index, int first, int count) {
    const int t = index / phases;
    RunPhase(s, x.data() + static_cast<size_t>(t) * in,
             y.data() + static_cast<size_t>(t) * out, (start + t) % 2,
             index % phases, first, count);
  };
  const internal::Threads& threads = *m.threads;
  if (threads.requested() == 1 ||
      WeightBytesPerStep(m) < m.packed.tuning.stream_parallel_bytes) {
    for (int i = 0; i < steps * phases; ++i) {
      phase_work(i, 0, PhasePanels(s, i % phases));
    }
  } else {
    // Hidden units sliced across a team: each thread keeps its slice of the
    // weights in its own cache from step to step.
    const int slices =
        internal::StepTeam::SlicesFor(threads, m.packed.gates.panels());
    threads.Run([&] {
      internal::StepTeam::Run(
          threads, steps * phases, slices, [&](int index, int slice) {
            const auto [first, count] = internal::SlicePanels(
                PhasePanels(s, index % phases), slices, slice);
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
