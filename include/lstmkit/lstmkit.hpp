// lstmkit: LSTM networks for CPUs, inference and training.
//
// The five-minute tour:
//
//   lstmkit::ModelConfig config;
//   config.input_size = 3;    // I
//   config.hidden_size = 64;  // H
//   config.num_layers = 2;    // L
//   config.output_size = 1;   // O, a dense head on top (0 = no head)
//   lstmkit::Model model(config, lstmkit::InitOptions{/*seed=*/42});
//
//   // Inputs are float32, time-major: x[t][b][i] is x[(t * B + b) * I + i].
//   lstmkit::Output out = model.Forward({/*seq_len=*/T, /*batch=*/B, x});
//
//   lstmkit::TrainerConfig tc;  // epochs, batch size, optimizer, loss, ...
//   lstmkit::Trainer trainer(&model, tc);
//   trainer.Fit(train_set);
//
// Parameters use PyTorch's nn.LSTM names, shapes and gate order (i, f, g, o):
// weight_ih_l{k} [4H, I_k], weight_hh_l{k} [4H, H], bias_ih_l{k} [4H],
// bias_hh_l{k} [4H], and for the head head.weight [O, H], head.bias [O].
//
// Every function checks its arguments and throws lstmkit::Error with a
// message that names the argument and the value it expected.
#ifndef LSTMKIT_LSTMKIT_HPP_
#define LSTMKIT_LSTMKIT_HPP_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(_WIN32)
#define LSTMKIT_API
#else
#define LSTMKIT_API __attribute__((visibility("default")))
#endif

namespace lstmkit {

// The one exception type the library throws for bad arguments, bad files and
// failed training (for example a loss that became NaN).
class LSTMKIT_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  ~Error() override;
};

// A non-owning view of contiguous elements; built from a pointer and a count,
// or from any container with data() and size() such as std::vector.
template <typename T>
class Span {
 public:
  Span() = default;
  Span(T* data, size_t size) : data_(data), size_(size) {}
  template <typename Container,
            typename = std::enable_if_t<std::is_convertible_v<
                decltype(std::declval<Container&>().data()), T*>>>
  Span(Container&& c) : data_(c.data()), size_(c.size()) {}  // NOLINT

  T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) const { return data_[i]; }
  T* begin() const { return data_; }
  T* end() const { return data_ + size_; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

enum class OutputActivation {
  kIdentity,  // regression
  kSoftmax,   // classification and language models
};

enum class OutputSteps {
  kEveryStep,  // y has shape [T][B][O]
  kLastStep,   // y has shape [B][O]: only the last step's output
};

// The options follow torch.nn.LSTM's. Below, D is 2 for a bidirectional
// model and 1 otherwise, and P is proj_size, or H without a projection: one
// direction's h has P values, a layer's output D * P.
struct ModelConfig {
  int input_size = 0;   // I, features per time step
  int hidden_size = 0;  // H, units per layer and direction
  int num_layers = 1;   // L, stacked layers; layer k > 0 reads layer k-1's h
  // O, size of the dense head applied to the top layer's output. With 0
  // there is no head and the model's output is that output itself
  // (O = D * P).
  int output_size = 0;
  OutputActivation output_activation = OutputActivation::kIdentity;
  OutputSteps output_steps = OutputSteps::kEveryStep;

  // Each layer also runs the sequence backwards; the two directions'
  // outputs are concatenated, forward first. Not for streams.
  bool bidirectional = false;
  // P > 0 adds a projection (LSTMP): h = W_hr (o * tanh(c)), W_hr [P, H],
  // P < H. c keeps H values.
  int proj_size = 0;
  // Dropout on the inputs of layers 1..L-1 while computing gradients, with
  // this probability (inverted: kept values are scaled by 1 / (1 - p)).
  // Never applied in inference or after the last layer.
  float dropout = 0.0f;
  // x, y (and the input gradient) are [B][T][...] instead of [T][B][...].
  // Initial and final states keep their [L * D][B][...] layout.
  bool batch_first = false;
};

enum class WeightPrecision { kF32, kBF16 };

struct InitOptions {
  uint64_t seed = 0;  // the same seed gives the same parameters, everywhere
  // PyTorch draws every parameter from U(-1/sqrt(H), 1/sqrt(H)). With this
  // set, bias_ih's forget block starts at 1 and bias_hh's at 0, so the
  // forget gate starts open (a common aid for long sequences).
  bool forget_bias_one = false;
};

// One batch of sequences, time-major (or batch-major with
// config.batch_first). Views only; nothing is copied.
struct Input {
  int seq_len = 0;      // T
  int batch = 0;        // B
  Span<const float> x;  // [T][B][I], or [B][T][I] with batch_first
  // Initial states, layer by layer, the forward direction before the
  // reverse one, as torch.nn.LSTM's: h0 [L * D][B][P], c0 [L * D][B][H].
  Span<const float> h0;  // or empty for zeros
  Span<const float> c0;  // or empty for zeros
  // Per-sequence lengths [B], each in [1, T], or empty when every sequence
  // runs all T steps. A sequence stops at its length: no compute goes to
  // its padding, its outputs past the end are zero, its final state is the
  // one at its own last step, and its padded steps count in no loss (the
  // mean squared error averages over the valid elements only). A reverse
  // direction starts at each sequence's own last step.
  Span<const int32_t> seq_lens;
  // Seeds the dropout mask of ComputeGradients (config.dropout > 0); the
  // mask of a value depends only on this seed, the layer, the step, the
  // sequence's index in the batch and the unit, never on threads.
  uint64_t dropout_seed = 0;
};

struct Output {
  // [T][B][O] (OutputSteps::kEveryStep; [B][T][O] with batch_first) or
  // [B][O] (kLastStep: each sequence's output at its last step). With a
  // softmax head these are probabilities.
  std::vector<float> y;
  // The states after each sequence's last step (for a reverse direction:
  // after it reached the first step): h_n [L * D][B][P], c_n [L * D][B][H].
  std::vector<float> h_n;
  std::vector<float> c_n;
};

enum class LossKind {
  // Mean over every element of y of (y - target)^2, as torch.nn.MSELoss.
  kMeanSquaredError,
  // Mean over the steps whose label is not ignore_index of -log p[label], as
  // torch.nn.CrossEntropyLoss on the head's logits. Needs a softmax head.
  kCrossEntropy,
};

struct LossConfig {
  LossKind kind = LossKind::kMeanSquaredError;
  int32_t ignore_index = -100;  // cross-entropy labels equal to this count 0
};

// What the loss compares y against; the shape follows OutputSteps.
struct Target {
  Span<const float> values;    // mean squared error: the same shape as y
  Span<const int32_t> labels;  // cross-entropy: [T][B] or [B], in [0, O)
};

// What Model::ComputeGradients computes besides the parameters' gradients
// and those of the initial states.
struct GradientOptions {
  // dL/dx (Gradients::x). A training loop whose x is data has no use for
  // it (PyTorch: x.requires_grad = False): without it the bottom layer
  // skips its input product, a GEMM as large as its input projection, and
  // Gradients::x is left empty. The parameters' gradients are the same,
  // bit for bit. The first call that asks for dL/dx after the weights
  // change (set_parameter, an optimizer step) also lays out the copy of
  // W_ih that product reads.
  bool input = true;
};

class Model;

// Gradients of a loss: one entry per parameter (same names and shapes as the
// model's), plus the gradients with respect to the inputs and initial states.
class LSTMKIT_API Gradients {
 public:
  Gradients();
  ~Gradients();
  Gradients(const Gradients&);
  Gradients& operator=(const Gradients&);
  Gradients(Gradients&&) noexcept;
  Gradients& operator=(Gradients&&) noexcept;

  Span<const float> parameter(const std::string& name) const;
  // Every parameter gradient, in Model::parameter_names() order.
  Span<float> parameters();
  Span<const float> parameters() const;

  std::vector<float> x;   // [T][B][I]; empty when not asked for
  std::vector<float> h0;  // [L][B][H]
  std::vector<float> c0;  // [L][B][H]

  struct Impl;

 private:
  friend class Model;
  std::unique_ptr<Impl> impl_;
};

class LSTMKIT_API Model {
 public:
  explicit Model(const ModelConfig& config, const InitOptions& init = {});
  ~Model();
  Model(const Model&);
  Model& operator=(const Model&);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const ModelConfig& config() const;

  // Threads this model's calls may use: 0 = every core of the machine (the
  // default), 1 = only the calling thread, n = at most n. The library runs
  // its parallel work in its own oneTBB task arena of that size and never
  // changes the application's global TBB settings. Results are bitwise the
  // same for every thread count.
  void set_threads(int threads);
  int threads() const;

  // The precision the model computes with. kBF16 rounds every weight
  // matrix to bfloat16 (to nearest, ties to even) for all passes, halving
  // the bytes the batch-1 paths read; biases, activations, states and
  // accumulation stay float32. The parameters themselves (parameters(),
  // the optimizer's updates, saved files) stay float32.
  void set_weight_precision(WeightPrecision precision);
  WeightPrecision weight_precision() const;

  // O: the size of one step's output (output_size, or hidden_size without a
  // head).
  int output_width() const;

  // Runs the model over a batch. Thread-safe: one Model may serve many
  // threads at once.
  Output Forward(const Input& input) const;
  // The same, reusing the vectors of *output. Bad input throws before
  // *output is touched. Its vectors may hold the input (y fed back as the
  // next x, say).
  void Forward(const Input& input, Output* output) const;

  // Runs forward and returns the loss, without gradients.
  float ComputeLoss(const Input& input, const Target& target,
                    const LossConfig& loss) const;

  // Runs forward and backward through time and returns the loss.
  // *gradients is resized as needed and overwritten, not accumulated.
  float ComputeGradients(const Input& input, const Target& target,
                         const LossConfig& loss, Gradients* gradients) const;
  // The same, computing only what `options` asks for beyond the
  // parameters' gradients.
  float ComputeGradients(const Input& input, const Target& target,
                         const LossConfig& loss, Gradients* gradients,
                         const GradientOptions& options) const;

  // Parameters by PyTorch name ("weight_ih_l0", ..., "head.weight").
  std::vector<std::string> parameter_names() const;
  std::vector<int> parameter_shape(const std::string& name) const;
  Span<const float> parameter(const std::string& name) const;
  void set_parameter(const std::string& name, Span<const float> values);
  // All parameters, contiguous, in parameter_names() order. Call
  // parameters_changed() after writing through this view.
  Span<float> parameters();
  Span<const float> parameters() const;
  void parameters_changed();

  struct Impl;

 private:
  friend class Optimizer;
  friend class Stream;
  std::unique_ptr<Impl> impl_;
};

// The recurrent state of one sequence, stepped through a shared model: for
// services that feed a sequence one step (or a few) at a time. Any number of
// streams may step through one Model concurrently, each from one thread at a
// time. A stream allocates only when it is created; Step, Chunk, Reset and
// the state calls never touch the heap. The head is applied at every step,
// whatever config.output_steps says. The Model must outlive its streams and
// must not change while they step.
class LSTMKIT_API Stream {
 public:
  explicit Stream(const Model& model);
  ~Stream();
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;

  // One time step: x [I] in, y [O] out (O = output_width()).
  void Step(Span<const float> x, Span<float> y);
  // `steps` time steps: x [steps][I] in, y [steps][O] out.
  void Chunk(int steps, Span<const float> x, Span<float> y);
  // Back to the zero state, as at creation.
  void Reset();
  // The state after the last step: h [L][P] (h_state_size() floats; P is
  // proj_size, or H) and c [L][H] (state_size() floats). Setting a saved
  // state resumes the sequence exactly.
  size_t state_size() const;
  size_t h_state_size() const;
  void GetState(Span<float> h, Span<float> c) const;
  void SetState(Span<const float> h, Span<const float> c);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---- Model files -----------------------------------------------------------
//
// Models are stored as safetensors files: the parameters under their PyTorch
// names (above), the config, a format version and a CRC-32 of the data in
// the file's metadata. PyTorch reads them with safetensors.torch.load_file or
// tools/import_pytorch.py; tools/export_pytorch.py writes them from an
// nn.LSTM. A plain safetensors file of an nn.LSTM state_dict (plus
// head.weight and head.bias for a dense head), without lstmkit's metadata,
// loads too: the config is inferred from the tensors' names and shapes
// (bidirectional when there are _reverse tensors, proj_size from
// weight_hr_l0), with an identity head on every step, no dropout and
// time-major data. docs/interop.md describes the format.

// How parameters are stored. kBF16 halves the file: each value is rounded to
// the nearest bfloat16 (ties to even, as PyTorch rounds), and loading widens
// it back to float32 exactly.
enum class FileDtype { kF32, kBF16 };

// Text a file carries besides the model, such as normalization statistics
// or a vocabulary: keys and values are UTF-8, and keys do not start with
// "lstmkit.", which is reserved.
using FileMetadata = std::map<std::string, std::string>;

struct SaveOptions {
  FileDtype dtype = FileDtype::kF32;
  FileMetadata metadata;
};

// Writes the model to `path` atomically: the bytes go to a temporary file in
// the same directory, which is flushed to disk and renamed over `path`, so
// that a crash at any moment leaves either the previous file or the new one.
LSTMKIT_API void SaveModel(const Model& model, const std::string& path,
                           const SaveOptions& options = {});
// The bytes SaveModel would write.
LSTMKIT_API std::vector<uint8_t> SaveModelToBuffer(
    const Model& model, const SaveOptions& options = {});

// Loads a model file, or the model in a checkpoint. The file is hostile
// until checked: its header (length, JSON, dtypes, shapes against the config
// and each other, byte ranges that cover the data exactly) is validated
// before any parameter is allocated or read, and the checksum is verified
// when the file has one. Throws lstmkit::Error naming the file, the tensor
// and what is wrong. With `metadata` set, it receives the file's extra
// entries (SaveOptions::metadata).
LSTMKIT_API Model LoadModel(const std::string& path,
                            FileMetadata* metadata = nullptr);
// The same from the bytes of a file.
LSTMKIT_API Model LoadModelFromBuffer(Span<const uint8_t> bytes,
                                      FileMetadata* metadata = nullptr);

enum class ChecksumState {
  kVerified,  // the data matches the checksum the file records
  kMismatch,  // it does not: the file is damaged and will not load
  kAbsent,    // the file records none (e.g. written by PyTorch): not checked
};

struct TensorDescription {
  std::string name;
  std::string dtype;  // safetensors' name: "F32", "BF16", ...
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
};

// What a model file or checkpoint holds, for tools such as `lstmkit info`.
struct ModelFileInfo {
  uint64_t file_size = 0;
  int format_version = 0;  // 0: a plain safetensors file, no lstmkit metadata
  bool is_checkpoint = false;
  bool config_inferred = false;  // from tensor names and shapes (plain files)
  ModelConfig config;
  std::vector<TensorDescription> tensors;  // in file order
  ChecksumState checksum = ChecksumState::kAbsent;
  std::string stored_checksum;    // "crc32:1a2b3c4d", or empty when absent
  std::string computed_checksum;  // of the data as it is now
  FileMetadata metadata;          // the extra entries
};

// Checks the file as LoadModel does, except that a checksum mismatch is
// reported in the result instead of thrown.
LSTMKIT_API ModelFileInfo InspectModelFile(const std::string& path);
// InspectModelFile as readable text: the config, each tensor with its dtype,
// shape and size, the checksum state and the metadata.
LSTMKIT_API std::string DescribeModelFile(const std::string& path);

// Clips gradients in place so that their global L2 norm is at most max_norm,
// as torch.nn.utils.clip_grad_norm_. Only parameter gradients are scaled.
// Returns the norm before clipping.
LSTMKIT_API float ClipGradientNorm(Gradients* gradients, float max_norm);

struct OptimizerConfig {
  enum class Kind { kSgd, kAdam };
  Kind kind = Kind::kAdam;
  float learning_rate = 1e-3f;
  float weight_decay = 0.0f;  // L2 penalty added to the gradient
  float momentum = 0.0f;      // SGD: v = momentum * v + g; p -= lr * v
  float beta1 = 0.9f;         // Adam
  float beta2 = 0.999f;       // Adam
  float epsilon = 1e-8f;      // Adam
};

// What an optimizer has learned, for checkpoints: the step count and the
// moment buffers (SGD: first = the momentum buffer; Adam: the first and
// second moments, second empty for SGD). Before the first step both buffers
// are empty; after it they hold one value per model parameter, in
// Model::parameters() order.
struct OptimizerState {
  int64_t steps = 0;
  std::vector<float> first;
  std::vector<float> second;
};

// SGD with momentum, or Adam, with PyTorch's update rules.
class LSTMKIT_API Optimizer {
 public:
  explicit Optimizer(const OptimizerConfig& config);
  ~Optimizer();
  Optimizer(Optimizer&&) noexcept;
  Optimizer& operator=(Optimizer&&) noexcept;

  void Step(Model* model, const Gradients& gradients);
  int64_t steps() const;

  const OptimizerConfig& config() const;
  OptimizerState state() const;
  // Restores a state from state(); throws lstmkit::Error when it does not
  // fit this optimizer's kind or holds non-finite values.
  void set_state(OptimizerState state);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// An in-memory dataset of equal-length sequences, stored sample by sample
// (not time-major): inputs[n][t][i]. The Trainer gathers shuffled samples
// into time-major mini-batches.
struct Dataset {
  int num_samples = 0;          // N
  int seq_len = 0;              // T
  std::vector<float> inputs;    // [N][T][I]
  std::vector<float> targets;   // mean squared error: [N][T][O] or [N][O]
  std::vector<int32_t> labels;  // cross-entropy: [N][T] or [N]
};

struct EpochReport {
  int epoch = 0;                 // counted from 1
  double train_loss = 0.0;       // mean over the epoch's samples
  double validation_loss = 0.0;  // NaN without a validation set
  double seconds = 0.0;
};

struct TrainerConfig {
  int epochs = 10;
  int batch_size = 32;
  OptimizerConfig optimizer;
  LossConfig loss;
  float clip_norm = 0.0f;  // global gradient-norm limit; 0 = no clipping
  uint64_t seed = 0;       // shuffling order and dropout masks
  bool shuffle = true;
  std::function<void(const EpochReport&)> on_epoch;  // called after each

  // Stopping and resuming. should_stop is asked after every batch; when it
  // returns true, Fit returns early (saving a checkpoint if checkpoint_path
  // is set), and the next Fit, or a Trainer that loads the checkpoint,
  // continues with the following batch.
  std::function<bool()> should_stop;
  // Where Fit saves checkpoints: after every checkpoint_every optimizer
  // steps (0 = not on a schedule), when should_stop stops it, and when it
  // finishes. Empty: Fit saves none.
  std::string checkpoint_path;
  int checkpoint_every = 0;
};

// Where training stands.
struct TrainingPosition {
  int epoch = 0;      // the epoch under way, from 1; 0 when no Fit is under way
  int batch = 0;      // the batches of that epoch already trained
  int64_t steps = 0;  // optimizer steps since the start
};

namespace internal {
struct TrainingProgress;
}

// Trains a model on a Dataset in shuffled mini-batches. Training that makes
// the loss or a gradient NaN or infinite stops with lstmkit::Error and leaves
// the model with its parameters from before the failing step.
class LSTMKIT_API Trainer {
 public:
  Trainer(Model* model, const TrainerConfig& config);
  ~Trainer();

  std::vector<EpochReport> Fit(const Dataset& train,
                               const Dataset* validation = nullptr);
  // Mean loss over a dataset, computed in batches of batch_size.
  double Evaluate(const Dataset& data) const;

  // Checkpoints. A checkpoint is a model file (LoadModel reads its model)
  // that also holds the optimizer's state, the shuffling generator's state
  // and the position within the epoch: a Trainer with the same config that
  // loads it and calls Fit on the same data reaches bitwise the parameters
  // that an uninterrupted run would have. Saving is atomic, like SaveModel.
  void SaveCheckpoint(const std::string& path,
                      const FileMetadata& metadata = {}) const;
  // Restores the model's parameters and all of the above. The checkpoint's
  // model config, optimizer kind and batch size must match this trainer's,
  // and its epoch must not exceed config.epochs; the other settings (such as
  // the learning rate) are this trainer's. On any error it throws
  // lstmkit::Error and changes nothing.
  void LoadCheckpoint(const std::string& path,
                      FileMetadata* metadata = nullptr);
  // True when the last Fit returned early because should_stop said so.
  bool stopped() const;
  TrainingPosition position() const;

 private:
  void SaveCheckpointIfDue(bool stopping);

  Model* model_;
  TrainerConfig config_;
  Optimizer optimizer_;
  uint64_t shuffle_state_;
  std::unique_ptr<internal::TrainingProgress> progress_;
};

LSTMKIT_API const char* Version();

// ---- Tuning
// ------------------------------------------------------------------
//
// The kernels' blocking sizes, the fused step's tile height, the size of
// parallel GEMM tasks and the model size from which streams step on several
// threads are chosen per CPU. Built-in defaults come from the cache sizes;
// Tune() measures candidates and keeps the fastest. None of these changes a
// result: outputs and gradients are bitwise the same under any tuning.
//
// The library reads the tuning file when a model is made, from the path in
// the environment variable LSTMKIT_TUNING, else from
// $XDG_CACHE_HOME/lstmkit/tuning.json, else ~/.cache/lstmkit/tuning.json.
// A file made on another CPU or for another SIMD target, or one that does not
// parse, is ignored with one line on stderr, and the defaults apply. An
// LSTMKIT_TUNING that is set but empty turns the file off: the built-in
// defaults apply.

struct TuneOptions {
  std::string path;                    // where to write; empty: as above
  double seconds_per_candidate = 0.3;  // measuring time per candidate
  int repeats = 5;                     // the median of this many timings wins
  std::function<void(const std::string& line)> progress;  // optional
};

// Measures candidates on this CPU for the active target and writes the
// tuning file (atomically); returns its path. Models made afterwards in this
// process use the new tuning too. Takes a minute or two.
LSTMKIT_API std::string Tune(const TuneOptions& options = {});

// The tuning in effect for the active target, and where it came from.
LSTMKIT_API std::string DescribeTuning();

// The SIMD instruction set the kernels run on, by Highway's name ("AVX3",
// "AVX2", "SSE4", "SSSE3", "SCALAR"). The best one this CPU supports is
// chosen at start-up unless the environment variable LSTMKIT_TARGET names
// another (an unknown or unsupported name is ignored with a warning on
// stderr).
LSTMKIT_API std::string ActiveTarget();
// Every target compiled in and supported by this CPU, best first.
LSTMKIT_API std::vector<std::string> AvailableTargets();
// Forces a target, for tests and for fleets of mixed machines. Models pack
// their weights for the target active when they are created or their
// parameters change, and keep using it. Throws lstmkit::Error for a name
// that is not in AvailableTargets().
LSTMKIT_API void SetTarget(const std::string& name);

}  // namespace lstmkit

#endif  // LSTMKIT_LSTMKIT_HPP_
