#include "forward_pass.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "check.h"
#include "kernels.h"
#include "layer_steps.h"
#include "parallel_gemm.h"
#include "phase_profile.h"
#include "rng.h"
#include "step_team.h"

namespace lstmkit::internal {

namespace {

// Copies the initial state of one direction into block 0 (sorted rows),
// zeros without one.
void InitialRows(const SequenceLayout& seq, const float* given, int width,
                 float* block, int stride) {
  for (int i = 0; i < seq.batch(); ++i) {
    float* row = block + static_cast<size_t>(i) * stride;
    if (given == nullptr) {
      std::fill_n(row, width, 0.0f);
    } else {
      std::copy_n(given + static_cast<size_t>(seq.original(i)) * width, width,
                  row);
    }
  }
}

// One direction's part of one step: the fused recurrent GEMM and gate tail
// for panels [first, first + count) of its hidden units, in rows `block`.
// With `x` (the layer's input rows), the step takes the input projection
// too (InputInSteps).
void CellStep(const Model::Impl& model, const LayerShape& shape, int layer,
              int dir, const SequenceLayout& seq, int t, RowBlock block,
              int first, int count, bool training, const float* x,
              LayerTrace* trace) {
  const int rows = block.ActiveAt(seq, t);
  if (rows == 0) return;
  const PackedWeights& packed = model.packed;
  const PackedLayer& weights = packed.layer(layer, dir);
  DirectionTrace& d = trace->dirs[dir];
  const int width = packed.gates.width();
  const int out_width = shape.out_width();
  const size_t batch = seq.batch();
  const size_t here = seq.offset(t) + block.first;
  kernels::LstmStepArgs step;
  step.batch = rows;
  step.hidden = shape.hidden;
  step.h_prev = SkipRows(
      PreviousRows(seq, trace->out.data() + dir * shape.state,
                   trace->steps + dir * shape.state, out_width, dir, t),
      block.first);
  step.w_hh = &weights.w_hh;
  step.w_hh_bf16 = packed.w_hh_bf16(layer, dir);
  step.first_panel = first;
  step.panel_count = count;
  // Zig-zag: at batch 1 and one thread, H = 256 (1 MB of W_hh against a
  // 512 KiB L2), the time loop ran 8 % faster (Zen 3, 15 alternating runs).
  step.reverse_panels = t % 2 == 1;
  // In inference the pre-activations of the input projection taken in
  // the step are needed for that step only: one step's rows serve all.
  step.gates =
      d.gates.data() + (x != nullptr && !training ? block.first : here) * width;
  if (x != nullptr) {
    step.x = x + here * shape.in;
    step.x_stride = shape.in;
    step.w_ih = &weights.w_ih;
    step.bias = weights.bias.data();
  }
  step.gate_stride = width;
  step.store_gates = training;
  step.c_prev = SkipRows(PreviousRows(seq, d.c.data(), shape.hidden, dir, t),
                         block.first);
  step.c = d.c.data() + (batch + here) * shape.hidden;
  if (shape.projected()) {
    step.h = d.r.data() + here * shape.hidden;
    step.h_stride = shape.hidden;
  } else {
    step.h = trace->steps + here * out_width + dir * shape.state;
    step.h_stride = out_width;
  }
  step.tanh_c = training ? d.tanh_c.data() + here * shape.hidden : nullptr;
  step.mr = std::min(packed.tuning.step_rows, step.batch);
  step.gemm_blocking =
      packed.kernels->step_as_gemm ? &packed.tuning.gemm_packed : nullptr;
  packed.kernels->lstm_step(step);
}

// With a projection, the second part of a step: h = r W_hr^T for output
// panels [first, first + count), in rows `block`.
void ProjectStep(const Model::Impl& model, const LayerShape& shape, int layer,
                 int dir, const SequenceLayout& seq, int t, RowBlock block,
                 int first, int count, LayerTrace* trace) {
  const PackedWeights& packed = model.packed;
  const kernels::PackedPanels w_hr =
      packed.layer(layer, dir).w_hr.Panels(first, count);
  const int rows = block.ActiveAt(seq, t);
  if (w_hr.n <= 0 || rows == 0) return;
  const size_t here = seq.offset(t) + block.first;
  const int out_width = shape.out_width();
  float* h = trace->steps + here * out_width + dir * shape.state +
             first * w_hr.panel_width;
  packed.kernels->gemm_packed(
      rows, w_hr.n, shape.hidden,
      {trace->dirs[dir].r.data() + here * shape.hidden, shape.hidden, 1}, w_hr,
      0.0f, h, out_width, packed.tuning.gemm_packed);
}

// Grows v to at least n elements and never shrinks it: a call that needs
// less than the one before (inference after training, say) must not make
// the next bigger call zero and fault tens of MB again.
void GrowTo(kernels::LineAlignedVector<float>* v, size_t n) {
  if (v->size() < n) v->resize(n);
}

// `steps`, where given, takes the steps' h rows in place of `out`. With
// the input projection in the steps, inference keeps one step's gates.
void AllocateLayer(const LayerShape& shape, const SequenceLayout& seq,
                   int gate_width, bool training, bool input_in_steps,
                   float* steps, LayerTrace* trace) {
  const size_t batch = seq.batch();
  const size_t rows = seq.total_rows();
  const size_t width = shape.out_width();
  GrowTo(&trace->out, (batch + (steps != nullptr ? 0 : rows)) * width);
  trace->steps = steps != nullptr ? steps : trace->out.data() + batch * width;
  for (int dir = 0; dir < shape.dirs; ++dir) {
    DirectionTrace& d = trace->dirs[dir];
    GrowTo(&d.gates, (input_in_steps && !training ? batch : rows) * gate_width);
    GrowTo(&d.c, (batch + rows) * shape.hidden);
    GrowTo(&d.tanh_c, training ? rows * shape.hidden : 0);
    GrowTo(&d.r, shape.projected() ? rows * shape.hidden : 0);
  }
}

// h0/c0 of layer `layer`, direction `dir`, or null.
const float* InitialState(Span<const float> states, int layer, int dir,
                          int dirs, int batch, int width) {
  if (states.empty()) return nullptr;
  return states.data() +
         static_cast<size_t>(layer * dirs + dir) * batch * width;
}

// The time loop of one layer, both directions at once: in blocks of batch
// rows that each walk every step alone where the batch is large enough;
// otherwise every step is sliced over hidden units, and with a projection
// has a second phase, h = W_hr r, sliced over P. With `x`, the layer's
// input, the steps take the input projection too.
void WalkSteps(const Model::Impl& model, const LayerShape& shape, int layer,
               const SequenceLayout& seq, bool training, const float* x,
               LayerTrace* trace) {
  const int panels = model.packed.gates.panels();
  const int proj_panels =
      shape.projected() ? model.packed.layer(layer).w_hr.panels() : 0;
  const int seq_len = seq.seq_len();
  const int blocks =
      IndependentRowBlocks(*model.threads, seq.batch(), shape.dirs);
  if (blocks > 0) {
    WalkRowBlocks(*model.threads, seq, shape.dirs, blocks, false,
                  [&](int dir, int t, RowBlock rows) {
                    CellStep(model, shape, layer, dir, seq, t, rows, 0, panels,
                             training, x, trace);
                    if (shape.projected()) {
                      ProjectStep(model, shape, layer, dir, seq, t, rows, 0,
                                  proj_panels, trace);
                    }
                  });
    return;
  }
  const int per_dir = std::max(
      1, StepTeam::SlicesFor(*model.threads, shape.dirs * panels) / shape.dirs);
  const int phases = shape.projected() ? 2 : 1;
  const RowBlock all = RowBlock::All(seq);
  StepTeam::Run(*model.threads, seq_len * phases, per_dir * shape.dirs,
                [&](int index, int slice) {
                  const int dir = slice / per_dir;
                  const int step = index / phases;
                  const int t = dir == 0 ? step : seq_len - 1 - step;
                  if (index % phases == 0) {
                    const auto [first, count] =
                        SlicePanels(panels, per_dir, slice % per_dir);
                    CellStep(model, shape, layer, dir, seq, t, all, first,
                             count, training, x, trace);
                  } else {
                    const auto [first, count] =
                        SlicePanels(proj_panels, per_dir, slice % per_dir);
                    ProjectStep(model, shape, layer, dir, seq, t, all, first,
                                count, trace);
                  }
                });
}

// Rows each block must walk for its steps to take the input projection:
// a step reads all of W_ih, which the one GEMM over every step reads once
// for T * B rows.
constexpr int kMinRowsForInputInSteps = 32;

// Whether the steps take the input projection themselves, each tile from
// the bias through x W_ih^T and on through h W_hh^T, instead of one GEMM
// over every step before them: where the fused tiles run (f32 weights, a
// target with step_as_gemm false) on blocks of enough rows, and a step's
// W_ih and W_hh together are at most four times L2. The pre-activations
// then stay in L1 instead of going through memory (26 MB at B = 64,
// T = 100, H = 256), and the projection runs at the fused tiles' rate.
// Same sums in the same order, so the same bits. Measured on Zen 5 (1 MiB
// L2, B = 64, one thread, best of 6 alternating runs): H = 128, 256, 320
// (up to 3.3 MB) 2-3 % faster; H = 384 (4.7 MB) 1 % and H = 512 (8 MB) 1-5 %
// slower.
bool InputInSteps(const Model::Impl& model, int layer,
                  const SequenceLayout& seq, int dirs) {
  const PackedWeights& packed = model.packed;
  if (packed.kernels->step_as_gemm || packed.w_hh_bf16(layer, 0) != nullptr) {
    return false;
  }
  const PackedLayer& weights = packed.layer(layer, 0);
  const size_t step_bytes =
      static_cast<size_t>(weights.w_ih.k + weights.w_hh.k) *
      packed.gates.width() * sizeof(float);
  if (step_bytes > 4 * kernels::Caches().l2) return false;
  const int blocks = IndependentRowBlocks(*model.threads, seq.batch(), dirs);
  return blocks > 0 && seq.batch() / blocks >= kMinRowsForInputInSteps;
}

void ForwardLayer(const Model::Impl& model, int layer, const Input& input,
                  const SequenceLayout& seq, const float* x, bool training,
                  float* steps, LayerTrace* trace) {
  const PackedWeights& packed = model.packed;
  const LayerShape shape = ShapeOf(model, layer);
  const int gate_width = packed.gates.width();
  const int rows = static_cast<int>(seq.total_rows());
  const bool input_in_steps = InputInSteps(model, layer, seq, shape.dirs);
  {
    const ScopedPhase phase(Phase::kForwardBuffers);
    AllocateLayer(shape, seq, gate_width, training, input_in_steps, steps,
                  trace);
  }
  for (int dir = 0; dir < shape.dirs; ++dir) {
    const PackedLayer& weights = packed.layer(layer, dir);
    if (!input_in_steps) {
      // Input projection for all steps at once, on top of both biases.
      const ScopedPhase phase(Phase::kInputProjection);
      ParallelGemmPacked(model.gemm(), rows, gate_width, shape.in,
                         {x, shape.in, 1}, weights.w_ih, 1.0f,
                         trace->dirs[dir].gates.data(), gate_width,
                         weights.bias.data());
    }
    InitialRows(seq,
                InitialState(input.h0, layer, dir, shape.dirs, seq.batch(),
                             shape.state),
                shape.state, trace->out.data() + dir * shape.state,
                shape.out_width());
    InitialRows(seq,
                InitialState(input.c0, layer, dir, shape.dirs, seq.batch(),
                             shape.hidden),
                shape.hidden, trace->dirs[dir].c.data(), shape.hidden);
  }
  const ScopedPhase phase(Phase::kForwardSteps);
  WalkSteps(model, shape, layer, seq, training, input_in_steps ? x : nullptr,
            trace);
}

// Each sequence's state after its own last step (reverse: after step 0),
// in the caller's order.
void FinalStates(const LayerShape& shape, const SequenceLayout& seq,
                 const LayerTrace& trace, int layer, float* h_n, float* c_n) {
  const size_t batch = seq.batch();
  for (int dir = 0; dir < shape.dirs; ++dir) {
    const size_t block = static_cast<size_t>(layer * shape.dirs + dir) * batch;
    for (int i = 0; i < seq.batch(); ++i) {
      const size_t row = dir == 0 ? seq.last_row(i) : i;
      const size_t to = block + seq.original(i);
      std::copy_n(trace.steps + row * shape.out_width() + dir * shape.state,
                  shape.state, h_n + to * shape.state);
      std::copy_n(trace.dirs[dir].c.data() + (batch + row) * shape.hidden,
                  shape.hidden, c_n + to * shape.hidden);
    }
  }
}

// The input of layer `layer` > 0 while training with dropout: the layer
// below's output with the mask applied.
const float* DropInput(const Model::Impl& model, int layer,
                       const SequenceLayout& seq, uint64_t seed,
                       const float* below, LayerTrace* trace) {
  const int width = model.layout->layer_input_size(layer);
  trace->dropped_input.resize(seq.total_rows() * width);
  const float p = model.config.dropout;
  for (int t = 0; t < seq.seq_len(); ++t) {
    for (int i = 0; i < seq.rows(t); ++i) {
      const size_t row = (seq.offset(t) + i) * width;
      for (int j = 0; j < width; ++j) {
        trace->dropped_input[row + j] =
            below[row + j] *
            DropoutScale(seed, layer, t, seq.original(i), j, p);
      }
    }
  }
  return trace->dropped_input.data();
}

void RunHead(const Model::Impl& model, ForwardTrace* trace) {
  const ModelConfig& config = model.config;
  const int width = model.layout->layer_output_size();
  const SequenceLayout& seq = trace->layout;
  const bool last_only = config.output_steps == OutputSteps::kLastStep;
  trace->output_rows =
      static_cast<int>(last_only ? seq.batch() : seq.total_rows());
  if (last_only && !seq.plain()) {
    const LayerTrace& top = trace->layers[trace->top];
    trace->head_input.resize(static_cast<size_t>(seq.batch()) * width);
    for (int i = 0; i < seq.batch(); ++i) {
      const size_t from = static_cast<size_t>(seq.last_row(i)) * width;
      std::copy_n(top.steps + from, width,
                  trace->head_input.data() + static_cast<size_t>(i) * width);
    }
  }
  const float* rows = HeadInputRows(model, *trace);
  const int n = trace->output_rows;
  if (config.output_size == 0) {
    trace->output_data = rows;
    trace->output_size = static_cast<size_t>(n) * width;
    return;
  }
  const int out = config.output_size;
  trace->output.resize(static_cast<size_t>(n) * out);
  ParallelGemmPacked(model.gemm(), n, out, width, {rows, width, 1},
                     model.packed.head, 1.0f, trace->output.data(), out,
                     model.param(model.layout->head_bias()));
  trace->output_data = trace->output.data();
  trace->output_size = trace->output.size();
}

std::string StateShape(const ModelConfig& config, int dirs, int batch,
                       int width, const char* names) {
  return std::string(names) + " = " +
         ShapeString({config.num_layers * dirs, batch, width});
}

}  // namespace

void ValidateInput(const Model::Impl& model, const Input& input) {
  const ModelConfig& config = model.config;
  RequirePositive("input.seq_len", input.seq_len);
  RequirePositive("input.batch", input.batch);
  // Bounds every count below so products of sizes cannot overflow.
  Require(static_cast<long long>(input.seq_len) * input.batch <= (1LL << 31),
          "input.seq_len * input.batch must be at most 2^31, got ",
          static_cast<long long>(input.seq_len) * input.batch);
  const size_t x_size =
      static_cast<size_t>(input.seq_len) * input.batch * config.input_size;
  RequireBuffer(
      "input.x", input.x.data(), input.x.size(), x_size,
      (config.batch_first ? "[B][T][I] = " : "[T][B][I] = ") +
          ShapeString(
              config.batch_first
                  ? std::initializer_list<long long>{input.batch, input.seq_len,
                                                     config.input_size}
                  : std::initializer_list<long long>{input.seq_len, input.batch,
                                                     config.input_size}));
  Require(input.h0.empty() == input.c0.empty(),
          "input.h0 and input.c0 must both be given or both be empty");
  if (!input.h0.empty()) {
    const int dirs = model.layout->directions();
    const int state = model.layout->state_width();
    const size_t states =
        static_cast<size_t>(config.num_layers) * dirs * input.batch;
    RequireBuffer("input.h0", input.h0.data(), input.h0.size(), states * state,
                  StateShape(config, dirs, input.batch, state, "[L*D][B][P]"));
    RequireBuffer("input.c0", input.c0.data(), input.c0.size(),
                  states * config.hidden_size,
                  StateShape(config, dirs, input.batch, config.hidden_size,
                             "[L*D][B][H]"));
  }
  if (input.seq_lens.empty()) return;
  RequireBuffer("input.seq_lens", input.seq_lens.data(), input.seq_lens.size(),
                input.batch,
                "one length per sequence, [B] = " + ShapeString({input.batch}));
  for (int b = 0; b < input.batch; ++b) {
    const int32_t length = input.seq_lens[b];
    Require(length >= 1 && length <= input.seq_len, "input.seq_lens[", b,
            "] must be in [1, input.seq_len = ", input.seq_len, "], got ",
            length);
  }
}

void RunForward(const Model::Impl& model, const Input& input, bool training,
                ForwardTrace* trace, float* top_steps) {
  Require(top_steps == nullptr || !training,
          "a training forward keeps its top layer's rows in its trace");
  const ScopedPhase whole(Phase::kForwardCall);
  const ModelConfig& config = model.config;
  trace->layout = SequenceLayout(input.seq_len, input.batch, input.seq_lens);
  trace->training = training;
  trace->dropout_seed = input.dropout_seed;
  const SequenceLayout& seq = trace->layout;
  trace->layers.resize(training ? config.num_layers
                                : std::min(config.num_layers, 2));
  const int dirs = model.layout->directions();
  const size_t states =
      static_cast<size_t>(config.num_layers) * dirs * input.batch;
  trace->h_n.resize(states * model.layout->state_width());
  trace->c_n.resize(states * config.hidden_size);
  const float* x = input.x.data();
  if (!seq.plain()) {
    trace->packed_x.resize(seq.total_rows() * config.input_size);
    seq.Gather(x, config.input_size, trace->packed_x.data());
    x = trace->packed_x.data();
  }
  const bool dropout = training && config.dropout > 0.0f;
  for (int layer = 0; layer < config.num_layers; ++layer) {
    LayerTrace* trace_l = &trace->layers[layer % trace->layers.size()];
    if (layer > 0 && dropout) {
      x = DropInput(model, layer, seq, input.dropout_seed, x, trace_l);
    }
    const bool top = layer == config.num_layers - 1;
    ForwardLayer(model, layer, input, seq, x, training,
                 top ? top_steps : nullptr, trace_l);
    x = trace_l->steps;
    FinalStates(ShapeOf(model, layer), seq, *trace_l, layer, trace->h_n.data(),
                trace->c_n.data());
    trace->top = layer % static_cast<int>(trace->layers.size());
  }
  const ScopedPhase phase(Phase::kHead);
  RunHead(model, trace);
}

const float* HeadInputRows(const Model::Impl& model,
                           const ForwardTrace& trace) {
  const SequenceLayout& seq = trace.layout;
  const bool last_only = model.config.output_steps == OutputSteps::kLastStep;
  if (last_only && !seq.plain()) return trace.head_input.data();
  const LayerTrace& top = trace.layers[trace.top];
  // Plain layout: the last step's rows are the last B rows.
  const size_t first = last_only ? seq.total_rows() - seq.batch() : 0;
  return top.steps + first * model.layout->layer_output_size();
}

float DropoutScale(uint64_t seed, int layer, int step, int sequence, int unit,
                   float p) {
  // A SplitMix64 draw per coordinate, each seeding the next, so that no two
  // coordinates share a draw.
  uint64_t key = seed;
  for (uint64_t part :
       {uint64_t(layer), uint64_t(step), uint64_t(sequence), uint64_t(unit)}) {
    key = Rng(key ^ part).NextU64();
  }
  return Rng(key).NextUnit() < p ? 0.0f : 1.0f / (1.0f - p);
}

void SoftmaxRows(int rows, int width, float* values) {
  for (int r = 0; r < rows; ++r) {
    float* row = values + static_cast<size_t>(r) * width;
    const float max_value = *std::max_element(row, row + width);
    double sum = 0.0;
    for (int j = 0; j < width; ++j) {
      row[j] = std::exp(row[j] - max_value);
      sum += row[j];
    }
    const float scale = static_cast<float>(1.0 / sum);
    for (int j = 0; j < width; ++j) row[j] *= scale;
  }
}

}  // namespace lstmkit::internal
