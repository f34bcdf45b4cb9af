#include "backward_pass.h"

#include <algorithm>
#include <vector>

#include "kernels.h"

namespace lstmkit::internal {

namespace {

struct LayerGradients {
  float* w_ih;
  float* w_hh;
  float* b_ih;
  float* b_hh;
};

LayerGradients LayerSlices(const ParameterLayout& layout, int layer,
                           float* d_params) {
  return {d_params + layout.weight_ih(layer), d_params + layout.weight_hh(layer),
          d_params + layout.bias_ih(layer), d_params + layout.bias_hh(layer)};
}

// Turns dL/d(output) into dL/dh of the top layer for every step, [T][B][H].
void HeadBackward(const Model::Impl& model, const ForwardTrace& trace,
                  const float* d_output, float* d_params, float* d_top) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const size_t state = static_cast<size_t>(trace.batch) * hidden;
  const size_t all_steps = state * trace.seq_len;
  const bool last_only = config.output_steps == OutputSteps::kLastStep;
  std::fill_n(d_top, all_steps, 0.0f);
  float* d_rows = last_only ? d_top + (trace.seq_len - 1) * state : d_top;
  const int rows = trace.output_rows;
  if (config.output_size == 0) {
    std::copy_n(d_output, static_cast<size_t>(rows) * hidden, d_rows);
    return;
  }
  const int out = config.output_size;
  const ParameterLayout& layout = *model.layout;
  kernels::GemmTN(out, hidden, rows, d_output, out, HeadInputRows(model, trace),
                  hidden, 0.0f, d_params + layout.head_weight(), hidden);
  float* d_bias = d_params + layout.head_bias();
  std::fill_n(d_bias, out, 0.0f);
  kernels::AccumulateColumnSums(rows, out, d_output, out, d_bias);
  kernels::GemmNN(rows, hidden, out, d_output, out,
                  model.param(layout.head_weight()), hidden, 0.0f, d_rows,
                  hidden);
}

// Backward through one layer. d_h_out: dL/dh_t from above for every step
// ([T][B][H]); d_x receives dL/dx_t ([T][B][I_k]); d_h0/d_c0 receive the
// initial states' gradients ([B][H]).
void BackwardLayer(const Model::Impl& model, int layer, const float* x,
                   const LayerTrace& trace, int seq_len, int batch,
                   const float* d_h_out, LayerGradients grads, float* d_x,
                   float* d_h0, float* d_c0) {
  const ParameterLayout& layout = *model.layout;
  const int hidden = model.config.hidden_size;
  const int gates = 4 * hidden;
  const int in = layout.layer_input_size(layer);
  const size_t state = static_cast<size_t>(batch) * hidden;
  const int rows = seq_len * batch;

  std::vector<float> d_gates(static_cast<size_t>(rows) * gates);
  std::vector<float> dh(state);
  std::vector<float> dh_recurrent(state, 0.0f);
  std::vector<float> dc_carry(state, 0.0f);
  const float* w_hh = model.param(layout.weight_hh(layer));
  for (int t = seq_len - 1; t >= 0; --t) {
    const float* d_above = d_h_out + t * state;
    for (size_t j = 0; j < state; ++j) dh[j] = d_above[j] + dh_recurrent[j];
    float* d_gates_t = d_gates.data() + t * state * 4;
    kernels::LstmCellBackward(batch, hidden, trace.gates.data() + t * state * 4,
                              trace.c.data() + t * state,
                              trace.tanh_c.data() + t * state, dh.data(),
                              dc_carry.data(), d_gates_t);
    kernels::GemmNN(batch, hidden, gates, d_gates_t, gates, w_hh, hidden, 0.0f,
                    dh_recurrent.data(), hidden);
  }
  std::copy(dh_recurrent.begin(), dh_recurrent.end(), d_h0);
  std::copy(dc_carry.begin(), dc_carry.end(), d_c0);

  kernels::GemmTN(gates, in, rows, d_gates.data(), gates, x, in, 0.0f,
                  grads.w_ih, in);
  kernels::GemmTN(gates, hidden, rows, d_gates.data(), gates, trace.h.data(),
                  hidden, 0.0f, grads.w_hh, hidden);
  std::fill_n(grads.b_ih, gates, 0.0f);
  kernels::AccumulateColumnSums(rows, gates, d_gates.data(), gates, grads.b_ih);
  std::copy_n(grads.b_ih, gates, grads.b_hh);
  kernels::GemmNN(rows, in, gates, d_gates.data(), gates,
                  model.param(layout.weight_ih(layer)), in, 0.0f, d_x, in);
}

}  // namespace

void RunBackward(const Model::Impl& model, const Input& input,
                 const ForwardTrace& trace, const float* d_output,
                 Gradients* gradients) {
  const ModelConfig& config = model.config;
  const int hidden = config.hidden_size;
  const int batch = input.batch;
  const int seq_len = input.seq_len;
  const size_t state = static_cast<size_t>(batch) * hidden;
  const ParameterLayout& layout = *model.layout;
  Span<float> d_params = gradients->parameters();

  std::vector<float> d_h_out(state * seq_len);
  std::vector<float> d_below;
  HeadBackward(model, trace, d_output, d_params.data(), d_h_out.data());
  gradients->x.resize(input.x.size());
  gradients->h0.resize(state * config.num_layers);
  gradients->c0.resize(state * config.num_layers);
  for (int layer = config.num_layers - 1; layer >= 0; --layer) {
    const bool bottom = layer == 0;
    const float* x = bottom ? input.x.data()
                            : trace.layers[layer - 1].h.data() + state;
    float* d_x = gradients->x.data();
    if (!bottom) {
      d_below.resize(state * seq_len);
      d_x = d_below.data();
    }
    BackwardLayer(model, layer, x, trace.layers[layer], seq_len, batch,
                  d_h_out.data(), LayerSlices(layout, layer, d_params.data()),
                  d_x, gradients->h0.data() + layer * state,
                  gradients->c0.data() + layer * state);
    if (!bottom) d_h_out.swap(d_below);
  }
}

}  // namespace lstmkit::internal
