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

void ForwardLayer(const Model::Impl& model, int layer, int seq_len, int batch,
                  const float* x, const float* h0, const float* c0,
                  bool training, LayerTrace* trace) {
  const PackedWeights& packed = model.packed;
  const PackedLayer& weights = packed.layers[layer];
  const int hidden = model.config.hidden_size;
  const int gate_width = packed.gates.width();
  const int in = model.layout->layer_input_size(layer);
  const size_t state = static_cast<size_t>(batch) * hidden;
  const int rows = seq_len * batch;

  trace->gates.resize(static_cast<size_t>(rows) * gate_width);
  trace->c.resize((seq_len + 1) * state);
  trace->h.resize((seq_len + 1) * state);
  trace->tanh_c.resize(training ? seq_len * state : 0);

  // Input projection for all steps at once, on top of both biases.
  ParallelGemmPacked(model.gemm(), rows, gate_width, in, {x, in, 1},
                     weights.w_ih, 1.0f, trace->gates.data(), gate_width,
                     weights.bias.data());

  if (h0 != nullptr) {
    std::memcpy(trace->h.data(), h0, state * sizeof(float));
    std::memcpy(trace->c.data(), c0, state * sizeof(float));
  } else {
    std::fill_n(trace->h.begin(), state, 0.0f);
    std::fill_n(trace->c.begin(), state, 0.0f);
  }

  kernels::LstmStepArgs base;
  base.batch = batch;
  base.hidden = hidden;
  base.w_hh = &weights.w_hh;
  base.gate_stride = gate_width;
  base.store_gates = training;
  base.mr = std::min(packed.blocking.mr, batch);
  const int slices = StepTeam::SlicesFor(*model.threads, packed.gates.panels());
  const int panels = packed.gates.panels();
  // Each thread keeps its slice of W_hh in its own cache for every step.
  StepTeam::Run(*model.threads, seq_len, slices, [&](int t, int slice) {
    kernels::LstmStepArgs step = base;
    std::tie(step.first_panel, step.panel_count) =
        SlicePanels(panels, slices, slice);
    step.h_prev = trace->h.data() + t * state;
    step.gates =
        trace->gates.data() + static_cast<size_t>(t) * batch * gate_width;
    step.c_prev = trace->c.data() + t * state;
    step.c = trace->c.data() + (t + 1) * state;
    step.h = trace->h.data() + (t + 1) * state;
    step.tanh_c = training ? trace->tanh_c.data() + t * state : nullptr;
    packed.kernels->lstm_step(step);
  });
}

void RunHead(const Model::Impl& model, ForwardTrace* trace) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const bool last_only = config.output_steps == OutputSteps::kLastStep;
  trace->output_rows = last_only ? trace->batch : trace->seq_len * trace->batch;
  const float* rows = HeadInputRows(model, *trace);
  const int n = trace->output_rows;
  if (config.output_size == 0) {
    trace->output.assign(rows, rows + static_cast<size_t>(n) * hidden);
    return;
  }
  const int out = config.output_size;
  const float* bias = model.param(model.layout->head_bias());
  trace->output.resize(static_cast<size_t>(n) * out);
  for (int r = 0; r < n; ++r) {
    std::copy_n(bias, out, trace->output.data() + static_cast<size_t>(r) * out);
  }
  const PackedWeights& packed = model.packed;
  packed.kernels->gemm_packed(n, out, hidden, {rows, hidden, 1}, packed.head,
                              1.0f, trace->output.data(), out, packed.blocking);
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
  Require(input.seq_lens.empty(),
          "input.seq_lens must be empty: per-sequence lengths are not "
          "supported in this version");
}

void RunForward(const Model::Impl& model, const Input& input, bool training,
                ForwardTrace* trace) {
  const ModelConfig& config = model.config;
  trace->seq_len = input.seq_len;
  trace->batch = input.batch;
  trace->layers.resize(training ? config.num_layers
                                : std::min(config.num_layers, 2));
  const size_t state = static_cast<size_t>(input.batch) * config.hidden_size;
  trace->h_n.resize(state * config.num_layers);
  trace->c_n.resize(state * config.num_layers);
  const float* x = input.x.data();
  for (int layer = 0; layer < config.num_layers; ++layer) {
    LayerTrace* trace_l = &trace->layers[layer % trace->layers.size()];
    const float* h0 =
        input.h0.empty() ? nullptr : input.h0.data() + layer * state;
    const float* c0 =
        input.c0.empty() ? nullptr : input.c0.data() + layer * state;
    ForwardLayer(model, layer, input.seq_len, input.batch, x, h0, c0, training,
                 trace_l);
    x = trace_l->h.data() + state;
    const size_t last = input.seq_len * state;
    std::copy_n(trace_l->h.data() + last, state,
                trace->h_n.data() + layer * state);
    std::copy_n(trace_l->c.data() + last, state,
                trace->c_n.data() + layer * state);
    trace->top = layer % static_cast<int>(trace->layers.size());
  }
  RunHead(model, trace);
}

const float* HeadInputRows(const Model::Impl& model,
                           const ForwardTrace& trace) {
  const LayerTrace& top = trace.layers[trace.top];
  const size_t state =
      static_cast<size_t>(trace.batch) * model.config.hidden_size;
  const bool last_only = model.config.output_steps == OutputSteps::kLastStep;
  return top.h.data() + (last_only ? trace.seq_len * state : state);
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
