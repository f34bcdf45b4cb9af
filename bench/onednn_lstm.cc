#include "onednn_lstm.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <dnnl.hpp>
#include <functional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "checksum.h"

namespace lstmkit::onednn_bench {
namespace {

using cli::BenchCase;
using cli::BenchMode;
using cli::BenchResult;
using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;
using Type = memory::data_type;
using Args = std::unordered_map<int, memory>;
using Clock = std::chrono::steady_clock;

struct Cpu {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

// D, P (one direction's h: the projection's width, or H) and D * P.
int Directions(const BenchCase& c) { return c.bidirectional ? 2 : 1; }
int StateWidth(const BenchCase& c) {
  return c.proj_size > 0 ? c.proj_size : c.hidden_size;
}

dnnl::rnn_direction Direction(const BenchCase& c) {
  return c.bidirectional ? dnnl::rnn_direction::bidirectional_concat
                         : dnnl::rnn_direction::unidirectional_left2right;
}

// Layers that one primitive carries. oneDNN stacks layers only when each
// reads its own direction's h (input width P): that is PyTorch's stacking
// for one direction, but a bidirectional layer reads both directions' h
// concatenated (2P), which oneDNN computes only in a primitive of one
// layer. So a bidirectional model gets a primitive per layer, and a
// unidirectional one a primitive for layer 0 unless I = P.
struct LayerGroup {
  int first_layer = 0;
  int layers = 0;
  int input_size = 0;
};

std::vector<LayerGroup> GroupLayers(const BenchCase& c) {
  const int above = cli::OutputWidth(c);
  std::vector<LayerGroup> groups;
  if (c.bidirectional) {
    for (int layer = 0; layer < c.layers; ++layer) {
      groups.push_back({layer, 1, layer == 0 ? c.input_size : above});
    }
    return groups;
  }
  if (c.input_size == above) return {{0, c.layers, c.input_size}};
  groups.push_back({0, 1, c.input_size});
  if (c.layers > 1) groups.push_back({1, c.layers - 1, above});
  return groups;
}

Dims WeightsLayerDims(const LayerGroup& g, const BenchCase& c) {
  return {g.layers, Directions(c), g.input_size, 4, c.hidden_size};
}
Dims WeightsIterDims(const LayerGroup& g, const BenchCase& c) {
  return {g.layers, Directions(c), StateWidth(c), 4, c.hidden_size};
}
// W_hr transposed, [H][P] per layer and direction (oneDNN's ldio).
Dims WeightsProjectionDims(const LayerGroup& g, const BenchCase& c) {
  return {g.layers, Directions(c), c.hidden_size, c.proj_size};
}
Dims BiasDims(const LayerGroup& g, const BenchCase& c) {
  return {g.layers, Directions(c), 4, c.hidden_size};
}
// h has P values per direction, c has H.
Dims StateDims(const LayerGroup& g, const BenchCase& c, int batch, int width) {
  return {g.layers, Directions(c), batch, width};
}

float* FloatsOf(const memory& m) {
  return static_cast<float*>(m.get_data_handle());
}
size_t FloatCount(const memory& m) {
  return m.get_desc().get_size() / sizeof(float);
}
void Zero(const memory& m) {
  std::memset(m.get_data_handle(), 0, m.get_desc().get_size());
}

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

// memory is a shared handle: the copies name the same buffers.
void Reorder(Cpu& cpu, memory from, memory to) {
  dnnl::reorder(from, to).execute(cpu.stream, from, to);
  cpu.stream.wait();
}

// `from` itself when it already has the layout `desc` asks for.
memory InLayout(Cpu& cpu, const memory& from, const memory::desc& desc) {
  if (from.get_desc() == desc) return from;
  memory to(desc, cpu.engine);
  Reorder(cpu, from, to);
  return to;
}

// The plain f32 weights SGD works on, drawn like PyTorch's from
// U(-1/sqrt(H), 1/sqrt(H)); oneDNN has one bias per gate (b_ih + b_hh).
// projection is empty without one.
struct PlainWeights {
  memory layer, iter, bias, projection;
};

memory UniformF32(Cpu& cpu, const Dims& dims, Tag tag, float bound,
                  uint64_t seed) {
  memory m({dims, Type::f32, tag}, cpu.engine);
  const std::vector<float> unit = cli::PatternInput(FloatCount(m), seed);
  float* out = FloatsOf(m);
  for (size_t i = 0; i < unit.size(); ++i) out[i] = bound * unit[i];
  return m;
}

PlainWeights InitialWeights(Cpu& cpu, const LayerGroup& g, const BenchCase& c) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(c.hidden_size));
  const uint64_t seed = c.seed * 1000003u + 17u * g.first_layer;
  PlainWeights w{
      UniformF32(cpu, WeightsLayerDims(g, c), Tag::ldigo, bound, seed + 1),
      UniformF32(cpu, WeightsIterDims(g, c), Tag::ldigo, bound, seed + 2),
      UniformF32(cpu, BiasDims(g, c), Tag::ldgo, bound, seed + 3), memory()};
  if (c.proj_size > 0) {
    w.projection = UniformF32(cpu, WeightsProjectionDims(g, c), Tag::ldio,
                              bound, seed + 4);
  }
  return w;
}

Type DataType(const BenchCase& c) {
  return c.dtype == "bf16" ? Type::bf16 : Type::f32;
}

// The input sequence [T][B][I] in the case's data type.
memory InputSequence(Cpu& cpu, const BenchCase& c) {
  memory plain({{c.seq_len, c.batch, c.input_size}, Type::f32, Tag::tnc},
               cpu.engine);
  const std::vector<float> x =
      cli::PatternInput(FloatCount(plain), c.seed ^ 0x5eed1e55u);
  std::memcpy(FloatsOf(plain), x.data(), x.size() * sizeof(float));
  return InLayout(cpu, plain, {plain.get_desc().dims(), DataType(c), Tag::tnc});
}

uint64_t ChecksumOf(Cpu& cpu, const memory& m, Tag plain_tag) {
  const memory f32 =
      InLayout(cpu, m, {m.get_desc().dims(), Type::f32, plain_tag});
  cli::Fnv1a64 hash;
  hash.Add(FloatsOf(f32), FloatCount(f32));
  return hash.value();
}

struct ForwardShape {
  int seq_len = 0;
  int batch = 0;
  bool takes_state = false;    // src_iter given; otherwise zero states
  bool returns_state = false;  // dst_iter given; otherwise dropped
};

// The descriptor of h (P values, in the data type) or c (H values, always
// f32) of a group, or the empty descriptor that tells oneDNN there is none.
memory::desc StateDesc(bool present, const LayerGroup& g, const BenchCase& c,
                       int batch, int width, Type type) {
  if (!present) return memory::desc();
  return {StateDims(g, c, batch, width), type, Tag::ldnc};
}

// The projection's weights in `type` and `any` layout, or the empty
// descriptor for an LSTM without one.
memory::desc ProjectionDesc(const LayerGroup& g, const BenchCase& c,
                            Type type) {
  if (c.proj_size == 0) return memory::desc();
  return {WeightsProjectionDims(g, c), type, Tag::any};
}

// Weights in `any` layout, so that oneDNN picks its fastest.
dnnl::lstm_forward::primitive_desc ForwardPd(Cpu& cpu, dnnl::prop_kind prop,
                                             const LayerGroup& g,
                                             const BenchCase& c,
                                             const ForwardShape& shape) {
  const Type type = DataType(c);
  const int h = c.hidden_size;
  const int p = StateWidth(c);
  const int b = shape.batch;
  const dnnl::lstm_forward::desc desc(
      prop, Direction(c), {{shape.seq_len, b, g.input_size}, type, Tag::tnc},
      StateDesc(shape.takes_state, g, c, b, p, type),
      StateDesc(shape.takes_state, g, c, b, h, Type::f32),
      {WeightsLayerDims(g, c), type, Tag::any},
      {WeightsIterDims(g, c), type, Tag::any}, memory::desc(),
      ProjectionDesc(g, c, type), {BiasDims(g, c), Type::f32, Tag::ldgo},
      {{shape.seq_len, b, cli::OutputWidth(c)}, type, Tag::tnc},
      StateDesc(shape.returns_state, g, c, b, p, type),
      StateDesc(shape.returns_state, g, c, b, h, Type::f32));
  return {desc, cpu.engine};
}

// One group's forward primitive with its weights in the primitive's layout.
struct ForwardLayers {
  dnnl::lstm_forward primitive;
  dnnl::lstm_forward::primitive_desc pd;
  memory weights_layer, weights_iter, bias, weights_projection;
};

ForwardLayers MakeForward(Cpu& cpu, dnnl::prop_kind prop, const LayerGroup& g,
                          const BenchCase& c, const ForwardShape& shape,
                          const PlainWeights& plain) {
  ForwardLayers f;
  f.pd = ForwardPd(cpu, prop, g, c, shape);
  f.primitive = dnnl::lstm_forward(f.pd);
  f.weights_layer = InLayout(cpu, plain.layer, f.pd.weights_layer_desc());
  f.weights_iter = InLayout(cpu, plain.iter, f.pd.weights_iter_desc());
  f.bias = InLayout(cpu, plain.bias, f.pd.bias_desc());
  if (c.proj_size > 0) {
    f.weights_projection =
        InLayout(cpu, plain.projection, f.pd.weights_projection_desc());
  }
  return f;
}

Args WeightArgs(const ForwardLayers& f) {
  Args args = {{DNNL_ARG_WEIGHTS_LAYER, f.weights_layer},
               {DNNL_ARG_WEIGHTS_ITER, f.weights_iter},
               {DNNL_ARG_BIAS, f.bias}};
  if (f.weights_projection) {
    args[DNNL_ARG_WEIGHTS_PROJECTION] = f.weights_projection;
  }
  return args;
}

BenchResult RunInfer(Cpu& cpu, const BenchCase& c) {
  const ForwardShape shape{c.seq_len, c.batch, false, false};
  std::vector<ForwardLayers> stack;
  std::vector<Args> args;
  memory layer_input = InputSequence(cpu, c);
  for (const LayerGroup& g : GroupLayers(c)) {
    stack.push_back(MakeForward(cpu, dnnl::prop_kind::forward_inference, g, c,
                                shape, InitialWeights(cpu, g, c)));
    const memory output(stack.back().pd.dst_layer_desc(), cpu.engine);
    args.push_back(WeightArgs(stack.back()));
    args.back()[DNNL_ARG_SRC_LAYER] = layer_input;
    args.back()[DNNL_ARG_DST_LAYER] = output;
    layer_input = output;
  }
  BenchResult result;
  for (int rep = 0; rep < cli::kWarmupRepetitions + c.repeat; ++rep) {
    const Clock::time_point start = Clock::now();
    for (size_t i = 0; i < stack.size(); ++i) {
      stack[i].primitive.execute(cpu.stream, args[i]);
    }
    cpu.stream.wait();
    if (rep >= cli::kWarmupRepetitions) {
      result.samples_ms.push_back(MillisecondsSince(start));
    }
  }
  result.checksum = ChecksumOf(cpu, layer_input, Tag::tnc);
  return result;
}

// One group stepping one time step at a time; h and c alternate between two
// buffers so that no primitive reads the state it writes.
struct SteppingLayers {
  ForwardLayers forward;
  memory h[2], c[2];
};

class StepRunner {
 public:
  StepRunner(Cpu& cpu, const BenchCase& c) : cpu_(cpu), case_(c) {
    const ForwardShape shape{1, 1, true, true};
    input_ = InputSequence(cpu, c);
    const Type type = DataType(c);
    outputs_ =
        memory({{c.seq_len, 1, StateWidth(c)}, type, Tag::tnc}, cpu.engine);
    for (const LayerGroup& g : GroupLayers(c)) {
      SteppingLayers s;
      s.forward = MakeForward(cpu, dnnl::prop_kind::forward_inference, g, c,
                              shape, InitialWeights(cpu, g, c));
      for (int i = 0; i < 2; ++i) {
        s.h[i] = memory(s.forward.pd.src_iter_desc(), cpu.engine);
        s.c[i] = memory(s.forward.pd.src_iter_c_desc(), cpu.engine);
      }
      const memory::desc one_step_out = s.forward.pd.dst_layer_desc();
      stack_.push_back(s);
      step_io_.push_back(memory(one_step_out, cpu.engine));
    }
    step_input_ =
        memory({{1, 1, c.input_size}, type, Tag::tnc}, cpu.engine, nullptr);
    step_io_.back() = memory(step_io_.back().get_desc(), cpu.engine, nullptr);
    element_bytes_ = type == Type::bf16 ? 2 : 4;
  }

  void Reset() {
    for (SteppingLayers& s : stack_) {
      Zero(s.h[0]);
      Zero(s.c[0]);
    }
    parity_ = 0;
  }

  void Step(int t) {
    step_input_.set_data_handle(
        Offset(input_, size_t{1} * t * case_.input_size));
    step_io_.back().set_data_handle(
        Offset(outputs_, size_t{1} * t * StateWidth(case_)));
    for (size_t i = 0; i < stack_.size(); ++i) {
      SteppingLayers& s = stack_[i];
      Args args = WeightArgs(s.forward);
      args[DNNL_ARG_SRC_LAYER] = i == 0 ? step_input_ : step_io_[i - 1];
      args[DNNL_ARG_DST_LAYER] = step_io_[i];
      args[DNNL_ARG_SRC_ITER] = s.h[parity_];
      args[DNNL_ARG_SRC_ITER_C] = s.c[parity_];
      args[DNNL_ARG_DST_ITER] = s.h[1 - parity_];
      args[DNNL_ARG_DST_ITER_C] = s.c[1 - parity_];
      s.forward.primitive.execute(cpu_.stream, args);
    }
    cpu_.stream.wait();
    parity_ = 1 - parity_;
  }

  uint64_t OutputChecksum() { return ChecksumOf(cpu_, outputs_, Tag::tnc); }

 private:
  void* Offset(const memory& m, size_t elements) const {
    return static_cast<char*>(m.get_data_handle()) + elements * element_bytes_;
  }

  Cpu& cpu_;
  const BenchCase& case_;
  std::vector<SteppingLayers> stack_;
  // step_io_[i] is group i's one-step output and group i+1's input; the
  // last one points into outputs_.
  std::vector<memory> step_io_;
  memory input_, outputs_, step_input_;
  size_t element_bytes_ = 4;
  int parity_ = 0;
};

BenchResult RunStep(Cpu& cpu, const BenchCase& c) {
  StepRunner runner(cpu, c);
  BenchResult result;
  for (int rep = 0; rep < cli::kWarmupRepetitions + c.repeat; ++rep) {
    runner.Reset();
    for (int t = 0; t < c.seq_len; ++t) {
      const Clock::time_point start = Clock::now();
      runner.Step(t);
      if (rep >= cli::kWarmupRepetitions) {
        result.samples_ms.push_back(MillisecondsSince(start));
      }
    }
  }
  result.checksum = runner.OutputChecksum();
  return result;
}

// One group's training state: forward and backward primitives, their
// weights in their own layouts, the plain weights SGD updates, and the
// gradients.
//
// The initial states are passed as explicit zeros: given none, oneDNN 2.6's
// backward takes h_{-1} from workspace memory the forward never wrote, and
// the gradient of weights_iter comes out wrong (nonzero even for T = 1;
// measured against torch.nn.LSTM, cf. oneDNN issue #1436). Their gradients
// (diff_h0, diff_c0) are computed as a result, as PyTorch and lstmkit do.
struct TrainingLayers {
  ForwardLayers forward;
  dnnl::lstm_backward backward;
  dnnl::lstm_backward::primitive_desc backward_pd;
  PlainWeights plain;
  memory backward_weights_layer, backward_weights_iter;
  memory backward_weights_projection;  // empty without a projection
  memory diff_weights_layer, diff_weights_iter, diff_bias;
  memory diff_weights_projection;
  memory workspace, input, output, diff_input, diff_output;
  memory h0, c0, diff_h0, diff_c0;
};

dnnl::lstm_backward::primitive_desc BackwardPd(Cpu& cpu, const LayerGroup& g,
                                               const BenchCase& c,
                                               const ForwardLayers& f) {
  const memory::desc none;
  const memory::desc input = f.pd.src_layer_desc();
  const memory::desc h0 = f.pd.src_iter_desc();
  const memory::desc c0 = f.pd.src_iter_c_desc();
  const memory::desc output = f.pd.dst_layer_desc();
  const memory::desc bias = f.pd.bias_desc();
  const memory::desc weights_layer{WeightsLayerDims(g, c), Type::f32, Tag::any};
  const memory::desc weights_iter{WeightsIterDims(g, c), Type::f32, Tag::any};
  const memory::desc projection = ProjectionDesc(g, c, Type::f32);
  const dnnl::lstm_backward::desc desc(
      dnnl::prop_kind::backward, Direction(c), input, h0, c0, weights_layer,
      weights_iter, none, projection, bias, output, none, none, input, h0, c0,
      weights_layer, weights_iter, none, projection, bias, output, none, none);
  return {desc, cpu.engine, f.pd};
}

TrainingLayers MakeTraining(Cpu& cpu, const LayerGroup& g, const BenchCase& c,
                            const memory& input) {
  TrainingLayers t;
  t.plain = InitialWeights(cpu, g, c);
  t.forward = MakeForward(cpu, dnnl::prop_kind::forward_training, g, c,
                          {c.seq_len, c.batch, true, false}, t.plain);
  t.backward_pd = BackwardPd(cpu, g, c, t.forward);
  t.backward = dnnl::lstm_backward(t.backward_pd);
  const auto& pd = t.backward_pd;
  t.backward_weights_layer = memory(pd.weights_layer_desc(), cpu.engine);
  t.backward_weights_iter = memory(pd.weights_iter_desc(), cpu.engine);
  t.diff_weights_layer = memory(pd.diff_weights_layer_desc(), cpu.engine);
  t.diff_weights_iter = memory(pd.diff_weights_iter_desc(), cpu.engine);
  t.diff_bias = memory(pd.diff_bias_desc(), cpu.engine);
  if (c.proj_size > 0) {
    t.backward_weights_projection =
        memory(pd.weights_projection_desc(), cpu.engine);
    t.diff_weights_projection =
        memory(pd.diff_weights_projection_desc(), cpu.engine);
  }
  t.workspace = memory(t.forward.pd.workspace_desc(), cpu.engine);
  t.input = input;
  t.output = memory(t.forward.pd.dst_layer_desc(), cpu.engine);
  t.diff_input = memory(pd.diff_src_layer_desc(), cpu.engine);
  t.h0 = memory(t.forward.pd.src_iter_desc(), cpu.engine);
  t.c0 = memory(t.forward.pd.src_iter_c_desc(), cpu.engine);
  Zero(t.h0);
  Zero(t.c0);
  t.diff_h0 = memory(pd.diff_src_iter_desc(), cpu.engine);
  t.diff_c0 = memory(pd.diff_src_iter_c_desc(), cpu.engine);
  return t;
}

// Repacks the weights SGD changed into both primitives' layouts.
void PackWeights(Cpu& cpu, TrainingLayers& t) {
  Reorder(cpu, t.plain.layer, t.forward.weights_layer);
  Reorder(cpu, t.plain.iter, t.forward.weights_iter);
  Reorder(cpu, t.plain.bias, t.forward.bias);
  Reorder(cpu, t.plain.layer, t.backward_weights_layer);
  Reorder(cpu, t.plain.iter, t.backward_weights_iter);
  if (t.plain.projection) {
    Reorder(cpu, t.plain.projection, t.forward.weights_projection);
    Reorder(cpu, t.plain.projection, t.backward_weights_projection);
  }
}

void Forward(Cpu& cpu, TrainingLayers& t) {
  Args args = WeightArgs(t.forward);
  args[DNNL_ARG_SRC_LAYER] = t.input;
  args[DNNL_ARG_DST_LAYER] = t.output;
  args[DNNL_ARG_SRC_ITER] = t.h0;
  args[DNNL_ARG_SRC_ITER_C] = t.c0;
  args[DNNL_ARG_WORKSPACE] = t.workspace;
  t.forward.primitive.execute(cpu.stream, args);
}

// oneDNN adds into the weight gradients, so they start at zero.
void Backward(Cpu& cpu, TrainingLayers& t) {
  Zero(t.diff_weights_layer);
  Zero(t.diff_weights_iter);
  Zero(t.diff_bias);
  Args args = {{DNNL_ARG_SRC_LAYER, t.input},
               {DNNL_ARG_SRC_ITER, t.h0},
               {DNNL_ARG_SRC_ITER_C, t.c0},
               {DNNL_ARG_WEIGHTS_LAYER, t.backward_weights_layer},
               {DNNL_ARG_WEIGHTS_ITER, t.backward_weights_iter},
               {DNNL_ARG_BIAS, t.forward.bias},
               {DNNL_ARG_DST_LAYER, t.output},
               {DNNL_ARG_WORKSPACE, t.workspace},
               {DNNL_ARG_DIFF_SRC_LAYER, t.diff_input},
               {DNNL_ARG_DIFF_SRC_ITER, t.diff_h0},
               {DNNL_ARG_DIFF_SRC_ITER_C, t.diff_c0},
               {DNNL_ARG_DIFF_WEIGHTS_LAYER, t.diff_weights_layer},
               {DNNL_ARG_DIFF_WEIGHTS_ITER, t.diff_weights_iter},
               {DNNL_ARG_DIFF_BIAS, t.diff_bias},
               {DNNL_ARG_DIFF_DST_LAYER, t.diff_output}};
  if (t.diff_weights_projection) {
    Zero(t.diff_weights_projection);
    args[DNNL_ARG_WEIGHTS_PROJECTION] = t.backward_weights_projection;
    args[DNNL_ARG_DIFF_WEIGHTS_PROJECTION] = t.diff_weights_projection;
  }
  t.backward.execute(cpu.stream, args);
}

void SgdUpdate(Cpu& cpu, const memory& weights, const memory& gradient) {
  const memory plain_gradient = InLayout(cpu, gradient, weights.get_desc());
  float* w = FloatsOf(weights);
  const float* g = FloatsOf(plain_gradient);
  const size_t n = FloatCount(weights);
  for (size_t i = 0; i < n; ++i) w[i] -= cli::kTrainLearningRate * g[i];
}

void TrainIteration(Cpu& cpu, std::vector<TrainingLayers>& stack) {
  for (TrainingLayers& t : stack) PackWeights(cpu, t);
  for (TrainingLayers& t : stack) Forward(cpu, t);
  for (auto t = stack.rbegin(); t != stack.rend(); ++t) Backward(cpu, *t);
  cpu.stream.wait();
  for (TrainingLayers& t : stack) {
    SgdUpdate(cpu, t.plain.layer, t.diff_weights_layer);
    SgdUpdate(cpu, t.plain.iter, t.diff_weights_iter);
    SgdUpdate(cpu, t.plain.bias, t.diff_bias);
    if (t.plain.projection) {
      SgdUpdate(cpu, t.plain.projection, t.diff_weights_projection);
    }
  }
}

// Each group's output feeds the next; the gradient flows back the same way,
// starting from ones at the top.
std::vector<TrainingLayers> MakeTrainingStack(Cpu& cpu, const BenchCase& c) {
  std::vector<TrainingLayers> stack;
  memory input = InputSequence(cpu, c);
  for (const LayerGroup& g : GroupLayers(c)) {
    stack.push_back(MakeTraining(cpu, g, c, input));
    input = stack.back().output;
  }
  for (size_t i = 0; i + 1 < stack.size(); ++i) {
    stack[i].diff_output = stack[i + 1].diff_input;
  }
  memory& top = stack.back().diff_output;
  top = memory(stack.back().output.get_desc(), cpu.engine);
  std::fill_n(FloatsOf(top), FloatCount(top), 1.0f);
  return stack;
}

uint64_t ParameterChecksum(const std::vector<TrainingLayers>& stack) {
  cli::Fnv1a64 hash;
  for (const TrainingLayers& t : stack) {
    for (const memory& m :
         {t.plain.layer, t.plain.iter, t.plain.bias, t.plain.projection}) {
      if (m) hash.Add(FloatsOf(m), FloatCount(m));
    }
  }
  return hash.value();
}

BenchResult RunTrain(Cpu& cpu, const BenchCase& c) {
  std::vector<TrainingLayers> stack = MakeTrainingStack(cpu, c);
  BenchResult result;
  for (int rep = 0; rep < cli::kWarmupRepetitions + c.repeat; ++rep) {
    const Clock::time_point start = Clock::now();
    TrainIteration(cpu, stack);
    if (rep >= cli::kWarmupRepetitions) {
      result.samples_ms.push_back(MillisecondsSince(start));
    }
  }
  result.checksum = ParameterChecksum(stack);
  return result;
}

BenchResult RunMode(Cpu& cpu, const BenchCase& c) {
  switch (c.mode) {
    case BenchMode::kStep:
      return RunStep(cpu, c);
    case BenchMode::kInfer:
      return RunInfer(cpu, c);
    case BenchMode::kTrain:
      return RunTrain(cpu, c);
  }
  throw std::logic_error("unknown mode");
}

}  // namespace

std::string OnednnIsaName() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

cli::BenchResult RunOnednnBench(const cli::BenchCase& c) {
  cli::Validate(c);
  if (c.dtype == "bf16" && c.mode == BenchMode::kTrain) {
    throw std::runtime_error("--dtype bf16 runs step and infer only");
  }
  Cpu cpu;
  try {
    return RunMode(cpu, c);
  } catch (const dnnl::error& e) {
    if (c.dtype == "bf16" && e.status == dnnl_unimplemented) {
      throw std::runtime_error(
          "--dtype bf16: oneDNN has no bf16 LSTM on this CPU (its ISA here "
          "is " +
          OnednnIsaName() + ")");
    }
    throw std::runtime_error(std::string("oneDNN: ") + e.what());
  }
}

}  // namespace lstmkit::onednn_bench
