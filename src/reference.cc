#include "reference.h"

#include <cmath>

#include "parameter_layout.h"

namespace lstmkit::reference {

namespace {

using internal::ParameterLayout;

struct LayerTrace {
  // Activated gates, each [T][B][H]; c and h are [T+1][B][H] with c[0] = c0.
  std::vector<double> i, f, g, o, c, h;
};

struct Trace {
  std::vector<LayerTrace> layers;
  std::vector<double> z;  // head pre-activation, or the top layer's h rows
  int rows = 0;
  // Output row r reads the top layer's h at row source[r] (indexing h's
  // [T+1][B] rows); rows past a sequence's end are not valid.
  std::vector<size_t> source;
  std::vector<bool> valid;
};

int Length(const Problem& p, int b) {
  return p.seq_lens.empty() ? p.seq_len : p.seq_lens[b];
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

size_t Idx(int t, int b, int j, int batch, int width) {
  return (static_cast<size_t>(t) * batch + b) * width + j;
}

void ForwardLayer(const Problem& p, const ParameterLayout& layout, int layer,
                  const std::vector<double>& x, LayerTrace* tr) {
  const int hd = p.config.hidden_size, in = layout.layer_input_size(layer);
  const int steps = p.seq_len, batch = p.batch;
  const size_t state = static_cast<size_t>(batch) * hd;
  const double* w_ih = &p.params[layout.weight_ih(layer)];
  const double* w_hh = &p.params[layout.weight_hh(layer)];
  const double* b_ih = &p.params[layout.bias_ih(layer)];
  const double* b_hh = &p.params[layout.bias_hh(layer)];
  for (auto* v : {&tr->i, &tr->f, &tr->g, &tr->o}) v->assign(steps * state, 0);
  tr->c.assign((steps + 1) * state, 0.0);
  tr->h.assign((steps + 1) * state, 0.0);
  for (size_t s = 0; s < state && !p.h0.empty(); ++s) {
    tr->h[s] = p.h0[layer * state + s];
    tr->c[s] = p.c0[layer * state + s];
  }
  for (int t = 0; t < steps; ++t) {
    for (int b = 0; b < batch; ++b) {
      if (t >= Length(p, b)) continue;
      for (int j = 0; j < hd; ++j) {
        double a[4];
        for (int q = 0; q < 4; ++q) {
          const int row = q * hd + j;
          double sum = b_ih[row] + b_hh[row];
          for (int k = 0; k < in; ++k) {
            sum += w_ih[static_cast<size_t>(row) * in + k] *
                   x[Idx(t, b, k, batch, in)];
          }
          for (int k = 0; k < hd; ++k) {
            sum += w_hh[static_cast<size_t>(row) * hd + k] *
                   tr->h[Idx(t, b, k, batch, hd)];
          }
          a[q] = sum;
        }
        const size_t at = Idx(t, b, j, batch, hd);
        const size_t next = Idx(t + 1, b, j, batch, hd);
        tr->i[at] = Sigmoid(a[0]);
        tr->f[at] = Sigmoid(a[1]);
        tr->g[at] = std::tanh(a[2]);
        tr->o[at] = Sigmoid(a[3]);
        tr->c[next] = tr->f[at] * tr->c[at] + tr->i[at] * tr->g[at];
        tr->h[next] = tr->o[at] * std::tanh(tr->c[next]);
      }
    }
  }
}

// Which rows of the top layer's h feed the head, and which are valid.
void HeadRows(const Problem& p, Trace* tr) {
  const bool last = p.config.output_steps == OutputSteps::kLastStep;
  tr->rows = last ? p.batch : p.seq_len * p.batch;
  for (int r = 0; r < tr->rows; ++r) {
    const int b = r % p.batch;
    const int t = last ? Length(p, b) - 1 : r / p.batch;
    tr->source.push_back(static_cast<size_t>(t + 1) * p.batch + b);
    tr->valid.push_back(t < Length(p, b));
  }
}

Trace RunForward(const Problem& p) {
  const ParameterLayout layout(p.config);
  const int hd = p.config.hidden_size;
  Trace tr;
  tr.layers.resize(p.config.num_layers);
  std::vector<double> x = p.x;
  for (int layer = 0; layer < p.config.num_layers; ++layer) {
    ForwardLayer(p, layout, layer, x, &tr.layers[layer]);
    const auto& h = tr.layers[layer].h;
    x.assign(h.begin() + static_cast<size_t>(p.batch) * hd, h.end());
  }
  HeadRows(p, &tr);
  const std::vector<double>& top = tr.layers.back().h;
  const int out = p.config.output_size;
  const int width = out > 0 ? out : hd;
  tr.z.assign(static_cast<size_t>(tr.rows) * width, 0.0);
  const double* w = out > 0 ? &p.params[layout.head_weight()] : nullptr;
  const double* bias = out > 0 ? &p.params[layout.head_bias()] : nullptr;
  for (int r = 0; r < tr.rows; ++r) {
    if (!tr.valid[r]) continue;  // zero past a sequence's end
    const double* h = &top[tr.source[r] * hd];
    double* z = &tr.z[static_cast<size_t>(r) * width];
    if (out == 0) {
      std::copy(h, h + hd, z);
      continue;
    }
    for (int o = 0; o < out; ++o) {
      double sum = bias[o];
      for (int j = 0; j < hd; ++j)
        sum += w[static_cast<size_t>(o) * hd + j] * h[j];
      z[o] = sum;
    }
  }
  return tr;
}

std::vector<double> Softmax(const double* z, int width) {
  double max_z = z[0];
  for (int j = 1; j < width; ++j) max_z = std::max(max_z, z[j]);
  double sum = 0.0;
  std::vector<double> p(width);
  for (int j = 0; j < width; ++j) sum += (p[j] = std::exp(z[j] - max_z));
  for (double& v : p) v /= sum;
  return p;
}

// The loss and dL/dz.
double LossAndGradient(const Objective& obj, const Trace& tr,
                       std::vector<double>* dz) {
  const int width = static_cast<int>(tr.z.size() / tr.rows);
  dz->assign(tr.z.size(), 0.0);
  if (obj.loss.kind == LossKind::kMeanSquaredError) {
    double sum = 0.0;
    double n = 0.0;
    for (int r = 0; r < tr.rows; ++r) n += tr.valid[r] ? width : 0;
    for (size_t e = 0; e < tr.z.size(); ++e) {
      if (!tr.valid[e / width]) continue;
      const double diff = tr.z[e] - obj.targets[e];
      sum += diff * diff;
      (*dz)[e] = 2.0 * diff / n;
    }
    return sum / n;
  }
  int labelled = 0;
  for (int r = 0; r < tr.rows; ++r) {
    labelled += tr.valid[r] && obj.labels[r] != obj.loss.ignore_index;
  }
  if (labelled == 0) return 0.0;
  double sum = 0.0;
  for (int r = 0; r < tr.rows; ++r) {
    const int label = obj.labels[r];
    if (!tr.valid[r] || label == obj.loss.ignore_index) continue;
    const std::vector<double> prob =
        Softmax(&tr.z[static_cast<size_t>(r) * width], width);
    sum -= std::log(prob[label]);
    for (int j = 0; j < width; ++j) {
      (*dz)[static_cast<size_t>(r) * width + j] =
          (prob[j] - (j == label ? 1.0 : 0.0)) / labelled;
    }
  }
  return sum / labelled;
}

// dL/dh of the top layer for every step, [T][B][H], from dL/dz.
std::vector<double> HeadBackward(const Problem& p,
                                 const ParameterLayout& layout, const Trace& tr,
                                 const std::vector<double>& dz,
                                 BackwardResult* out) {
  const int hd = p.config.hidden_size, o_size = p.config.output_size;
  std::vector<double> dh(static_cast<size_t>(p.seq_len) * p.batch * hd, 0.0);
  const std::vector<double>& top = tr.layers.back().h;
  for (int r = 0; r < tr.rows; ++r) {
    if (!tr.valid[r]) continue;
    // h's row source[r] is step source[r] / B - 1 in dh's [T][B] rows.
    double* dh_row = &dh[(tr.source[r] - p.batch) * hd];
    if (o_size == 0) {
      for (int j = 0; j < hd; ++j)
        dh_row[j] += dz[static_cast<size_t>(r) * hd + j];
      continue;
    }
    const double* h = &top[tr.source[r] * hd];
    const double* w = &p.params[layout.head_weight()];
    double* dw = &out->d_params[layout.head_weight()];
    double* db = &out->d_params[layout.head_bias()];
    for (int o = 0; o < o_size; ++o) {
      const double d = dz[static_cast<size_t>(r) * o_size + o];
      db[o] += d;
      for (int j = 0; j < hd; ++j) {
        dw[static_cast<size_t>(o) * hd + j] += d * h[j];
        dh_row[j] += d * w[static_cast<size_t>(o) * hd + j];
      }
    }
  }
  return dh;
}

// Backward through one layer; returns dL/dx for its input, [T][B][I_k].
std::vector<double> BackwardLayer(const Problem& p,
                                  const ParameterLayout& layout, int layer,
                                  const std::vector<double>& x,
                                  const LayerTrace& tr,
                                  const std::vector<double>& dh_out,
                                  BackwardResult* out) {
  const int hd = p.config.hidden_size, in = layout.layer_input_size(layer);
  const int batch = p.batch;
  const size_t state = static_cast<size_t>(batch) * hd;
  const double* w_ih = &p.params[layout.weight_ih(layer)];
  const double* w_hh = &p.params[layout.weight_hh(layer)];
  double* dw_ih = &out->d_params[layout.weight_ih(layer)];
  double* dw_hh = &out->d_params[layout.weight_hh(layer)];
  double* db_ih = &out->d_params[layout.bias_ih(layer)];
  double* db_hh = &out->d_params[layout.bias_hh(layer)];
  std::vector<double> dx(static_cast<size_t>(p.seq_len) * batch * in, 0.0);
  std::vector<double> dh_rec(state, 0.0), dc_next(state, 0.0),
      f_next(state, 0.0);
  std::vector<double> da(4 * static_cast<size_t>(hd));
  for (int t = p.seq_len - 1; t >= 0; --t) {
    std::vector<double> dh_rec_prev(state, 0.0);
    for (int b = 0; b < batch; ++b) {
      if (t >= Length(p, b)) continue;
      for (int j = 0; j < hd; ++j) {
        const size_t at = Idx(t, b, j, batch, hd), s = at - t * state;
        const double dh = dh_out[at] + dh_rec[s];
        const double tc = std::tanh(tr.c[at + state]);
        const double i = tr.i[at], f = tr.f[at], g = tr.g[at], o = tr.o[at];
        const double d_o = dh * tc * o * (1 - o);
        const double dc = dh * o * (1 - tc * tc) + dc_next[s] * f_next[s];
        da[j] = dc * g * i * (1 - i);
        da[hd + j] = dc * tr.c[at] * f * (1 - f);
        da[2 * hd + j] = dc * i * (1 - g * g);
        da[3 * hd + j] = d_o;
        dc_next[s] = dc;
        f_next[s] = f;
      }
      for (int row = 0; row < 4 * hd; ++row) {
        db_ih[row] += da[row];
        db_hh[row] += da[row];
        for (int k = 0; k < in; ++k) {
          dw_ih[static_cast<size_t>(row) * in + k] +=
              da[row] * x[Idx(t, b, k, batch, in)];
          dx[Idx(t, b, k, batch, in)] +=
              w_ih[static_cast<size_t>(row) * in + k] * da[row];
        }
        for (int k = 0; k < hd; ++k) {
          dw_hh[static_cast<size_t>(row) * hd + k] +=
              da[row] * tr.h[Idx(t, b, k, batch, hd)];
          dh_rec_prev[static_cast<size_t>(b) * hd + k] +=
              w_hh[static_cast<size_t>(row) * hd + k] * da[row];
        }
      }
    }
    dh_rec = dh_rec_prev;
  }
  for (size_t s = 0; s < state; ++s) {
    out->dh0[layer * state + s] = dh_rec[s];
    out->dc0[layer * state + s] = dc_next[s] * f_next[s];
  }
  return dx;
}

}  // namespace

ForwardResult Forward(const Problem& p) {
  const Trace tr = RunForward(p);
  ForwardResult result;
  result.y = tr.z;
  if (p.config.output_activation == OutputActivation::kSoftmax) {
    const int width = p.config.output_size;
    for (int r = 0; r < tr.rows; ++r) {
      if (!tr.valid[r]) continue;  // zero past a sequence's end
      const std::vector<double> prob =
          Softmax(&tr.z[static_cast<size_t>(r) * width], width);
      std::copy(prob.begin(), prob.end(),
                result.y.begin() + static_cast<size_t>(r) * width);
    }
  }
  const int hd = p.config.hidden_size;
  for (const LayerTrace& layer : tr.layers) {
    for (int b = 0; b < p.batch; ++b) {
      const size_t at = (static_cast<size_t>(Length(p, b)) * p.batch + b) * hd;
      result.h_n.insert(result.h_n.end(), &layer.h[at], &layer.h[at] + hd);
      result.c_n.insert(result.c_n.end(), &layer.c[at], &layer.c[at] + hd);
    }
  }
  return result;
}

double Loss(const Problem& p, const Objective& objective) {
  const Trace tr = RunForward(p);
  std::vector<double> dz;
  return LossAndGradient(objective, tr, &dz);
}

BackwardResult Backward(const Problem& p, const Objective& objective) {
  const ParameterLayout layout(p.config);
  const Trace tr = RunForward(p);
  BackwardResult out;
  std::vector<double> dz;
  out.loss = LossAndGradient(objective, tr, &dz);
  out.d_params.assign(layout.total_size(), 0.0);
  const size_t states =
      static_cast<size_t>(p.config.num_layers) * p.batch * p.config.hidden_size;
  out.dh0.assign(states, 0.0);
  out.dc0.assign(states, 0.0);
  std::vector<double> dh = HeadBackward(p, layout, tr, dz, &out);
  const size_t state = static_cast<size_t>(p.batch) * p.config.hidden_size;
  for (int layer = p.config.num_layers - 1; layer >= 0; --layer) {
    std::vector<double> x = p.x;
    if (layer > 0) {
      const auto& h = tr.layers[layer - 1].h;
      x.assign(h.begin() + state, h.end());
    }
    dh = BackwardLayer(p, layout, layer, x, tr.layers[layer], dh, &out);
  }
  out.dx = dh;
  return out;
}

Problem MakeProblem(const Model& model, const Input& input) {
  Problem p;
  p.config = model.config();
  p.seq_len = input.seq_len;
  p.batch = input.batch;
  Span<const float> params = model.parameters();
  p.params.assign(params.begin(), params.end());
  p.x.assign(input.x.begin(), input.x.end());
  p.h0.assign(input.h0.begin(), input.h0.end());
  p.c0.assign(input.c0.begin(), input.c0.end());
  p.seq_lens.assign(input.seq_lens.begin(), input.seq_lens.end());
  return p;
}

}  // namespace lstmkit::reference
