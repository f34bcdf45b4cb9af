#include "forward_pass.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "check.h"
#include "kernels.h"
#include "parallel_gemm.h"
#include "step_team.h"

namespace lstmkit::internal {

namespace {

size_t StateSize(const ModelConfig& config, int batch) {
  return static_cast<size_t>(config.num_layers) * batch * config.hidden_size;
}

// The initial state rows of one layer in sorted order; zeros without h0.
void InitialState(const SequenceLayout& layout, const float* given, int hidden,
                  float* out) {
  const size_t state = static_cast<size_t>(layout.batch()) * hidden;
  if (given == nullptr) {
    std::fill_n(out, state, 0.0f);
  } else if (layout.plain()) {
    std::memcpy(out, given, state * sizeof(float));
  } else {
    layout.GatherBatch(given, hidden, out);
  }
}

void ForwardLayer(const Model::Impl& model, int layer,
                  const SequenceLayout& layout, const float* x, const float* h0,
                  const float* c0, bool training, LayerTrace* trace) {
  const PackedWeights& packed = model.packed;
  const PackedLayer& weights = packed.layers[layer];
  const int hidden = model.config.hidden_size;
  const int gate_width = packed.gates.width();
  const int in = model.layout->layer_input_size(layer);
  const size_t batch = layout.batch();
  const size_t rows = layout.total_rows();

  trace->gates.resize(rows * gate_width);
  trace->c.resize((batch + rows) * hidden);
  trace->h.resize((batch + rows) * hidden);
  trace->tanh_c.resize(training ? rows * hidden : 0);

  // Input projection for all steps at once, on top of both biases.
  ParallelGemmPacked(model.gemm(), static_cast<int>(rows), gate_width, in,
                     {x, in, 1}, weights.w_ih, 1.0f, trace->gates.data(),
                     gate_width, weights.bias.data());
  InitialState(layout, h0, hidden, trace->h.data());
  InitialState(layout, c0, hidden, trace->c.data());

  kernels::LstmStepArgs base;
  base.hidden = hidden;
  base.w_hh = &weights.w_hh;
  base.w_hh_bf16 = packed.w_hh_bf16(layer);
  base.gate_stride = gate_width;
  base.store_gates = training;
  const int panels = packed.gates.panels();
  const int slices = StepTeam::SlicesFor(*model.threads, panels);
  // Each thread keeps its slice of W_hh in its own cache for every step.
  StepTeam::Run(*model.threads, layout.seq_len(), slices, [&](int t, int s) {
    kernels::LstmStepArgs step = base;
    std::tie(step.first_panel, step.panel_count) =
        SlicePanels(panels, slices, s);
    // Step t's rows are a prefix of step t-1's: sequences ending drop off
    // the bottom.
    const size_t prev = t == 0 ? 0 : batch + layout.offset(t - 1);
    const size_t here = layout.offset(t);
    step.batch = layout.rows(t);
    step.mr = std::min(packed.blocking.mr, step.batch);
    step.h_prev = trace->h.data() + prev * hidden;
    step.c_prev = trace->c.data() + prev * hidden;
    step.gates = trace->gates.data() + here * gate_width;
    step.c = trace->c.data() + (batch + here) * hidden;
    step.h = trace->h.data() + (batch + here) * hidden;
    step.tanh_c = training ? trace->tanh_c.data() + here * hidden : nullptr;
    packed.kernels->lstm_step(step);
  });
}

// Each sequence's state after its own last step, in the caller's order.
void FinalStates(const SequenceLayout& layout, const LayerTrace& trace,
                 int hidden, float* h_n, float* c_n) {
  const size_t batch = layout.batch();
  for (int i = 0; i < layout.batch(); ++i) {
    const size_t from = (batch + layout.last_row(i)) * hidden;
    const size_t to = static_cast<size_t>(layout.original(i)) * hidden;
    std::copy_n(trace.h.data() + from, hidden, h_n + to);
    std::copy_n(trace.c.data() + from, hidden, c_n + to);
  }
}

void RunHead(const Model::Impl& model, ForwardTrace* trace) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const SequenceLayout& layout = trace->layout;
  const bool last_only = config.output_steps == OutputSteps::kLastStep;
  trace->output_rows =
      static_cast<int>(last_only ? layout.batch() : layout.total_rows());
  if (last_only && !layout.plain()) {
    const LayerTrace& top = trace->layers[trace->top];
    trace->head_input.resize(static_cast<size_t>(layout.batch()) * hidden);
    for (int i = 0; i < layout.batch(); ++i) {
      const size_t from = (layout.batch() + layout.last_row(i)) * hidden;
      std::copy_n(top.h.data() + from, hidden,
                  trace->head_input.data() + static_cast<size_t>(i) * hidden);
    }
  }
  const float* rows = HeadInputRows(model, *trace);
  const int n = trace->output_rows;
  if (config.output_size == 0) {
    trace->output.assign(rows, rows + static_cast<size_t>(n) * hidden);
    return;
  }
  const int out = config.output_size;
  trace->output.resize(static_cast<size_t>(n) * out);
  ParallelGemmPacked(model.gemm(), n, out, hidden, {rows, hidden, 1},
                     model.packed.head, 1.0f, trace->output.data(), out,
                     model.param(model.layout->head_bias()));
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
  RequireBuffer("input.x", input.x.data(), input.x.size(), x_size,
                "[T][B][I] = " + ShapeString({input.seq_len, input.batch,
                                              config.input_size}));
  const std::string state_shape =
      "[L][B][H] = " +
      ShapeString({config.num_layers, input.batch, config.hidden_size});
  Require(input.h0.empty() == input.c0.empty(),
          "input.h0 and input.c0 must both be given or both be empty");
  if (!input.h0.empty()) {
    RequireBuffer("input.h0", input.h0.data(), input.h0.size(),
                  StateSize(config, input.batch), state_shape);
    RequireBuffer("input.c0", input.c0.data(), input.c0.size(),
                  StateSize(config, input.batch), state_shape);
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
                ForwardTrace* trace) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  trace->layout = SequenceLayout(input.seq_len, input.batch, input.seq_lens);
  const SequenceLayout& layout = trace->layout;
  trace->layers.resize(training ? config.num_layers
                                : std::min(config.num_layers, 2));
  const size_t state = static_cast<size_t>(input.batch) * hidden;
  trace->h_n.resize(state * config.num_layers);
  trace->c_n.resize(state * config.num_layers);
  const float* x = input.x.data();
  if (!layout.plain()) {
    trace->packed_x.resize(layout.total_rows() * config.input_size);
    layout.Gather(x, config.input_size, trace->packed_x.data());
    x = trace->packed_x.data();
  }
  for (int layer = 0; layer < config.num_layers; ++layer) {
    LayerTrace* trace_l = &trace->layers[layer % trace->layers.size()];
    const float* h0 =
        input.h0.empty() ? nullptr : input.h0.data() + layer * state;
    const float* c0 =
        input.c0.empty() ? nullptr : input.c0.data() + layer * state;
    ForwardLayer(model, layer, layout, x, h0, c0, training, trace_l);
    x = trace_l->h.data() + state;
    FinalStates(layout, *trace_l, hidden, trace->h_n.data() + layer * state,
                trace->c_n.data() + layer * state);
    trace->top = layer % static_cast<int>(trace->layers.size());
  }
  RunHead(model, trace);
}

const float* HeadInputRows(const Model::Impl& model,
                           const ForwardTrace& trace) {
  const SequenceLayout& layout = trace.layout;
  const bool last_only = model.config.output_steps == OutputSteps::kLastStep;
  if (last_only && !layout.plain()) return trace.head_input.data();
  const LayerTrace& top = trace.layers[trace.top];
  // Plain layout: the last step's rows are the buffer's last B rows.
  const size_t first =
      last_only ? layout.total_rows() : static_cast<size_t>(layout.batch());
  return top.h.data() + first * model.config.hidden_size;
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
