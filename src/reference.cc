#include "reference.h"

#include <algorithm>
#include <cmath>

#include "forward_pass.h"
#include "parameter_layout.h"

namespace lstmkit::reference {

namespace {

using internal::ParameterLayout;

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Sizes that every function below needs.
struct Dims {
  int steps, batch, hidden, state, dirs, layers;
  explicit Dims(const Problem& p, const ParameterLayout& layout)
      : steps(p.seq_len),
        batch(p.batch),
        hidden(p.config.hidden_size),
        state(layout.state_width()),
        dirs(layout.directions()),
        layers(p.config.num_layers) {}
  int out_width() const { return dirs * state; }
};

int Length(const Problem& p, int b) {
  return p.seq_lens.empty() ? p.seq_len : p.seq_lens[b];
}

// One direction of one layer. Step arrays are [T][B][n], indexed by time;
// the initial state sits apart.
struct DirTrace {
  std::vector<double> i, f, g, o, c, r, h;  // c, r: H wide; h: P wide
  std::vector<double> c0, h0;               // [B][H], [B][P]
};

struct LayerTrace {
  std::vector<double> in;   // this layer's input after dropout, [T][B][I_k]
  std::vector<double> out;  // [T][B][D*P], zero past a sequence's end
  DirTrace dir[2];
};

struct Trace {
  std::vector<LayerTrace> layers;
  std::vector<double> z;  // head pre-activation, or the top layer's rows
  int rows = 0;
  // Output row r reads the top layer's output at step step[r] of sequence
  // seq[r]; rows past a sequence's end are not valid.
  std::vector<int> step, seq;
  std::vector<bool> valid;
};

size_t At(int t, int b, int j, int batch, int width) {
  return (static_cast<size_t>(t) * batch + b) * width + j;
}

// The step whose state step t of a direction continues from, or -1 for the
// initial state.
int PrevStep(const Problem& p, int dir, int t, int b) {
  if (dir == 0) return t - 1;
  return t + 1 < Length(p, b) ? t + 1 : -1;
}

const double* PrevH(const DirTrace& d, const Dims& n, int prev, int b) {
  return prev < 0 ? &d.h0[static_cast<size_t>(b) * n.state]
                  : &d.h[At(prev, b, 0, n.batch, n.state)];
}
const double* PrevC(const DirTrace& d, const Dims& n, int prev, int b) {
  return prev < 0 ? &d.c0[static_cast<size_t>(b) * n.hidden]
                  : &d.c[At(prev, b, 0, n.batch, n.hidden)];
}

void InitialStates(const Problem& p, const Dims& n, int layer, int dir,
                   DirTrace* d) {
  const size_t block = static_cast<size_t>(layer * n.dirs + dir) * n.batch;
  d->h0.assign(static_cast<size_t>(n.batch) * n.state, 0.0);
  d->c0.assign(static_cast<size_t>(n.batch) * n.hidden, 0.0);
  if (p.h0.empty()) return;
  std::copy_n(&p.h0[block * n.state], d->h0.size(), d->h0.begin());
  std::copy_n(&p.c0[block * n.hidden], d->c0.size(), d->c0.begin());
}

// One step of one direction for sequence b.
void CellForward(const Problem& p, const ParameterLayout& layout, const Dims& n,
                 int layer, int dir, int t, int b, const std::vector<double>& x,
                 DirTrace* d) {
  const int in = layout.layer_input_size(layer);
  const double* w_ih = &p.params[layout.weight_ih(layer, dir)];
  const double* w_hh = &p.params[layout.weight_hh(layer, dir)];
  const double* b_ih = &p.params[layout.bias_ih(layer, dir)];
  const double* b_hh = &p.params[layout.bias_hh(layer, dir)];
  const int prev = PrevStep(p, dir, t, b);
  const double* h_prev = PrevH(*d, n, prev, b);
  const double* c_prev = PrevC(*d, n, prev, b);
  for (int j = 0; j < n.hidden; ++j) {
    double a[4];
    for (int q = 0; q < 4; ++q) {
      const int row = q * n.hidden + j;
      double sum = b_ih[row] + b_hh[row];
      for (int k = 0; k < in; ++k) {
        sum += w_ih[static_cast<size_t>(row) * in + k] *
               x[At(t, b, k, n.batch, in)];
      }
      for (int k = 0; k < n.state; ++k) {
        sum += w_hh[static_cast<size_t>(row) * n.state + k] * h_prev[k];
      }
      a[q] = sum;
    }
    const size_t at = At(t, b, j, n.batch, n.hidden);
    d->i[at] = Sigmoid(a[0]);
    d->f[at] = Sigmoid(a[1]);
    d->g[at] = std::tanh(a[2]);
    d->o[at] = Sigmoid(a[3]);
    d->c[at] = d->f[at] * c_prev[j] + d->i[at] * d->g[at];
    d->r[at] = d->o[at] * std::tanh(d->c[at]);
  }
  double* h = &d->h[At(t, b, 0, n.batch, n.state)];
  const double* r = &d->r[At(t, b, 0, n.batch, n.hidden)];
  if (n.state == n.hidden) {
    std::copy_n(r, n.hidden, h);
    return;
  }
  const double* w_hr = &p.params[layout.weight_hr(layer, dir)];
  for (int q = 0; q < n.state; ++q) {
    double sum = 0.0;
    for (int j = 0; j < n.hidden; ++j) {
      sum += w_hr[static_cast<size_t>(q) * n.hidden + j] * r[j];
    }
    h[q] = sum;
  }
}

void ForwardLayer(const Problem& p, const ParameterLayout& layout,
                  const Dims& n, int layer, LayerTrace* tr) {
  tr->out.assign(static_cast<size_t>(n.steps) * n.batch * n.out_width(), 0.0);
  for (int dir = 0; dir < n.dirs; ++dir) {
    DirTrace& d = tr->dir[dir];
    const size_t cells = static_cast<size_t>(n.steps) * n.batch * n.hidden;
    for (auto* v : {&d.i, &d.f, &d.g, &d.o, &d.c, &d.r}) v->assign(cells, 0.0);
    d.h.assign(static_cast<size_t>(n.steps) * n.batch * n.state, 0.0);
    InitialStates(p, n, layer, dir, &d);
    for (int b = 0; b < n.batch; ++b) {
      const int len = Length(p, b);
      for (int s = 0; s < len; ++s) {
        const int t = dir == 0 ? s : len - 1 - s;
        CellForward(p, layout, n, layer, dir, t, b, tr->in, &d);
        std::copy_n(&d.h[At(t, b, 0, n.batch, n.state)], n.state,
                    &tr->out[At(t, b, dir * n.state, n.batch, n.out_width())]);
      }
    }
  }
}

// The dropout scale of layer `layer`'s input value (t, b, j).
double DropScale(const Problem& p, bool training, int layer, int t, int b,
                 int j) {
  if (!training || layer == 0 || p.config.dropout == 0.0f) return 1.0;
  return internal::DropoutScale(p.dropout_seed, layer, t, b, j,
                                p.config.dropout);
}

// Which rows of the top layer's output feed the head, and which are valid.
void HeadRows(const Problem& p, Trace* tr) {
  const bool last = p.config.output_steps == OutputSteps::kLastStep;
  tr->rows = last ? p.batch : p.seq_len * p.batch;
  for (int r = 0; r < tr->rows; ++r) {
    const int b = r % p.batch;
    const int t = last ? Length(p, b) - 1 : r / p.batch;
    tr->step.push_back(t);
    tr->seq.push_back(b);
    tr->valid.push_back(t < Length(p, b));
  }
}

Trace RunForward(const Problem& p, bool training) {
  const ParameterLayout layout(p.config);
  const Dims n(p, layout);
  Trace tr;
  tr.layers.resize(n.layers);
  for (int layer = 0; layer < n.layers; ++layer) {
    LayerTrace& l = tr.layers[layer];
    const std::vector<double>& below =
        layer == 0 ? p.x : tr.layers[layer - 1].out;
    const int in = layout.layer_input_size(layer);
    l.in = below;
    for (int t = 0; t < n.steps; ++t) {
      for (int b = 0; b < n.batch; ++b) {
        for (int j = 0; j < in; ++j) {
          l.in[At(t, b, j, n.batch, in)] *=
              DropScale(p, training, layer, t, b, j);
        }
      }
    }
    ForwardLayer(p, layout, n, layer, &l);
  }
  HeadRows(p, &tr);
  const std::vector<double>& top = tr.layers.back().out;
  const int out = p.config.output_size;
  const int in = n.out_width();
  const int width = out > 0 ? out : in;
  tr.z.assign(static_cast<size_t>(tr.rows) * width, 0.0);
  for (int r = 0; r < tr.rows; ++r) {
    if (!tr.valid[r]) continue;  // zero past a sequence's end
    const double* h = &top[At(tr.step[r], tr.seq[r], 0, n.batch, in)];
    double* z = &tr.z[static_cast<size_t>(r) * width];
    if (out == 0) {
      std::copy_n(h, in, z);
      continue;
    }
    const double* w = &p.params[layout.head_weight()];
    const double* bias = &p.params[layout.head_bias()];
    for (int o = 0; o < out; ++o) {
      double sum = bias[o];
      for (int j = 0; j < in; ++j)
        sum += w[static_cast<size_t>(o) * in + j] * h[j];
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
    double sum = 0.0, n = 0.0;
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

// dL/d(top layer output), [T][B][D*P], from dL/dz.
std::vector<double> HeadBackward(const Problem& p,
                                 const ParameterLayout& layout, const Dims& n,
                                 const Trace& tr, const std::vector<double>& dz,
                                 BackwardResult* out) {
  const int in = n.out_width(), o_size = p.config.output_size;
  std::vector<double> d_top(static_cast<size_t>(n.steps) * n.batch * in, 0.0);
  const std::vector<double>& top = tr.layers.back().out;
  for (int r = 0; r < tr.rows; ++r) {
    if (!tr.valid[r]) continue;
    const size_t row = At(tr.step[r], tr.seq[r], 0, n.batch, in);
    double* dh = &d_top[row];
    if (o_size == 0) {
      for (int j = 0; j < in; ++j) dh[j] += dz[static_cast<size_t>(r) * in + j];
      continue;
    }
    const double* w = &p.params[layout.head_weight()];
    double* dw = &out->d_params[layout.head_weight()];
    double* db = &out->d_params[layout.head_bias()];
    for (int o = 0; o < o_size; ++o) {
      const double d = dz[static_cast<size_t>(r) * o_size + o];
      db[o] += d;
      for (int j = 0; j < in; ++j) {
        dw[static_cast<size_t>(o) * in + j] += d * top[row + j];
        dh[j] += d * w[static_cast<size_t>(o) * in + j];
      }
    }
  }
  return d_top;
}

// Backward through one step of one direction for sequence b. dh: dL/dh of
// this step (above plus successor); dc_carry: dL/dc from the successor, in
// and out (out: for the predecessor). Returns dL/dh_prev.
std::vector<double> CellBackward(
    const Problem& p, const ParameterLayout& layout, const Dims& n, int layer,
    int dir, int t, int b, const LayerTrace& l, const std::vector<double>& dh,
    std::vector<double>* dc_carry, std::vector<double>* d_in,
    BackwardResult* out) {
  const DirTrace& d = l.dir[dir];
  const int in = layout.layer_input_size(layer);
  std::vector<double> dr = dh;
  if (n.state != n.hidden) {
    const double* w_hr = &p.params[layout.weight_hr(layer, dir)];
    double* dw_hr = &out->d_params[layout.weight_hr(layer, dir)];
    const double* r = &d.r[At(t, b, 0, n.batch, n.hidden)];
    dr.assign(n.hidden, 0.0);
    for (int q = 0; q < n.state; ++q) {
      for (int j = 0; j < n.hidden; ++j) {
        dw_hr[static_cast<size_t>(q) * n.hidden + j] += dh[q] * r[j];
        dr[j] += w_hr[static_cast<size_t>(q) * n.hidden + j] * dh[q];
      }
    }
  }
  const int prev = PrevStep(p, dir, t, b);
  const double* h_prev = PrevH(d, n, prev, b);
  const double* c_prev = PrevC(d, n, prev, b);
  std::vector<double> da(4 * static_cast<size_t>(n.hidden));
  for (int j = 0; j < n.hidden; ++j) {
    const size_t at = At(t, b, j, n.batch, n.hidden);
    const double i = d.i[at], f = d.f[at], g = d.g[at], o = d.o[at];
    const double tc = std::tanh(d.c[at]);
    const double dc = dr[j] * o * (1 - tc * tc) + (*dc_carry)[j];
    da[j] = dc * g * i * (1 - i);
    da[n.hidden + j] = dc * c_prev[j] * f * (1 - f);
    da[2 * n.hidden + j] = dc * i * (1 - g * g);
    da[3 * n.hidden + j] = dr[j] * tc * o * (1 - o);
    (*dc_carry)[j] = dc * f;
  }
  const double* w_ih = &p.params[layout.weight_ih(layer, dir)];
  const double* w_hh = &p.params[layout.weight_hh(layer, dir)];
  double* dw_ih = &out->d_params[layout.weight_ih(layer, dir)];
  double* dw_hh = &out->d_params[layout.weight_hh(layer, dir)];
  double* db_ih = &out->d_params[layout.bias_ih(layer, dir)];
  double* db_hh = &out->d_params[layout.bias_hh(layer, dir)];
  std::vector<double> dh_prev(n.state, 0.0);
  for (int row = 0; row < 4 * n.hidden; ++row) {
    db_ih[row] += da[row];
    db_hh[row] += da[row];
    for (int k = 0; k < in; ++k) {
      dw_ih[static_cast<size_t>(row) * in + k] +=
          da[row] * l.in[At(t, b, k, n.batch, in)];
      (*d_in)[At(t, b, k, n.batch, in)] +=
          w_ih[static_cast<size_t>(row) * in + k] * da[row];
    }
    for (int k = 0; k < n.state; ++k) {
      dw_hh[static_cast<size_t>(row) * n.state + k] += da[row] * h_prev[k];
      dh_prev[k] += w_hh[static_cast<size_t>(row) * n.state + k] * da[row];
    }
  }
  return dh_prev;
}

// Backward through one layer; returns dL/d(this layer's input) before the
// dropout mask.
std::vector<double> BackwardLayer(const Problem& p,
                                  const ParameterLayout& layout, const Dims& n,
                                  int layer, const LayerTrace& l,
                                  const std::vector<double>& d_out,
                                  BackwardResult* out) {
  const int in = layout.layer_input_size(layer);
  std::vector<double> d_in(static_cast<size_t>(n.steps) * n.batch * in, 0.0);
  for (int dir = 0; dir < n.dirs; ++dir) {
    const size_t block = static_cast<size_t>(layer * n.dirs + dir) * n.batch;
    for (int b = 0; b < n.batch; ++b) {
      const int len = Length(p, b);
      std::vector<double> dh_rec(n.state, 0.0), dc_carry(n.hidden, 0.0);
      // Walk this sequence's steps in the reverse of the order they ran.
      for (int s = len - 1; s >= 0; --s) {
        const int t = dir == 0 ? s : len - 1 - s;
        std::vector<double> dh(n.state);
        for (int q = 0; q < n.state; ++q) {
          dh[q] = d_out[At(t, b, dir * n.state + q, n.batch, n.out_width())] +
                  dh_rec[q];
        }
        dh_rec = CellBackward(p, layout, n, layer, dir, t, b, l, dh, &dc_carry,
                              &d_in, out);
      }
      std::copy_n(dh_rec.begin(), n.state, &out->dh0[(block + b) * n.state]);
      std::copy_n(dc_carry.begin(), n.hidden,
                  &out->dc0[(block + b) * n.hidden]);
    }
  }
  return d_in;
}

}  // namespace

ForwardResult Forward(const Problem& p) {
  const ParameterLayout layout(p.config);
  const Dims n(p, layout);
  const Trace tr = RunForward(p, /*training=*/false);
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
  for (int layer = 0; layer < n.layers; ++layer) {
    for (int dir = 0; dir < n.dirs; ++dir) {
      const DirTrace& d = tr.layers[layer].dir[dir];
      for (int b = 0; b < n.batch; ++b) {
        // Forward ends at the last step, reverse at step 0.
        const int t = dir == 0 ? Length(p, b) - 1 : 0;
        const double* h = &d.h[At(t, b, 0, n.batch, n.state)];
        const double* c = &d.c[At(t, b, 0, n.batch, n.hidden)];
        result.h_n.insert(result.h_n.end(), h, h + n.state);
        result.c_n.insert(result.c_n.end(), c, c + n.hidden);
      }
    }
  }
  return result;
}

double Loss(const Problem& p, const Objective& objective) {
  const Trace tr = RunForward(p, /*training=*/true);
  std::vector<double> dz;
  return LossAndGradient(objective, tr, &dz);
}

BackwardResult Backward(const Problem& p, const Objective& objective) {
  const ParameterLayout layout(p.config);
  const Dims n(p, layout);
  const Trace tr = RunForward(p, /*training=*/true);
  BackwardResult out;
  std::vector<double> dz;
  out.loss = LossAndGradient(objective, tr, &dz);
  out.d_params.assign(layout.total_size(), 0.0);
  const size_t states = static_cast<size_t>(n.layers) * n.dirs * n.batch;
  out.dh0.assign(states * n.state, 0.0);
  out.dc0.assign(states * n.hidden, 0.0);
  std::vector<double> d = HeadBackward(p, layout, n, tr, dz, &out);
  for (int layer = n.layers - 1; layer >= 0; --layer) {
    d = BackwardLayer(p, layout, n, layer, tr.layers[layer], d, &out);
    const int in = layout.layer_input_size(layer);
    for (int t = 0; t < n.steps; ++t) {
      for (int b = 0; b < n.batch; ++b) {
        for (int j = 0; j < in; ++j) {
          d[At(t, b, j, n.batch, in)] *= DropScale(p, true, layer, t, b, j);
        }
      }
    }
  }
  out.dx = d;
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
  p.dropout_seed = input.dropout_seed;
  return p;
}

}  // namespace lstmkit::reference
