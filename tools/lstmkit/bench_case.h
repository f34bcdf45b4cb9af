// One case of the `lstmkit bench` contract, shared by every runner that
// speaks it (the lstmkit command, bench/onednn_runner.cc and, in Python,
// bench/pytorch_runner.py): what to run, how the work is counted, and what
// a run returns.
#ifndef LSTMKIT_TOOLS_LSTMKIT_BENCH_CASE_H_
#define LSTMKIT_TOOLS_LSTMKIT_BENCH_CASE_H_

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lstmkit::cli {

// A command-line argument that cannot be run; the message names the flag.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class BenchMode {
  kStep,   // T single steps of a stream that carries its state
  kInfer,  // one forward over [T][B][I], no head
  kTrain,  // forward, backward through time and one SGD step
};

const char* ModeName(BenchMode mode);
// Throws UsageError for anything but "step", "infer" or "train".
BenchMode ParseMode(const std::string& name);

struct BenchCase {
  BenchMode mode = BenchMode::kInfer;
  int batch = 1;        // B
  int seq_len = 1;      // T
  int input_size = 1;   // I, the width of layer 0's input
  int hidden_size = 1;  // H, units per layer and direction
  int layers = 1;       // L; layers above 0 read the layer below's D * P
  // D = 2: each layer also runs the sequence backwards and the outputs are
  // concatenated (not in step mode: a stream runs forward only).
  bool bidirectional = false;
  // P > 0, less than H: h is projected to P values (LSTMP); 0 = none, and
  // P stands for H below.
  int proj_size = 0;
  int threads = 1;  // 0 = every core the runner may use
  int repeat = 10;  // timed repetitions after the warm-up
  std::string dtype = "f32";
  uint64_t seed = 1;
};

// Repetitions run before timing starts: they fault in memory, pack weights
// and wake up thread pools. In train mode they are real SGD steps too.
inline constexpr int kWarmupRepetitions = 1;
// The SGD learning rate of train mode. Small, so that many repetitions keep
// the parameters in the range the model was initialized in.
inline constexpr float kTrainLearningRate = 0.01f;

// Throws UsageError naming the flag when a field is out of range. Batch must
// be 1 in step mode, which cannot be bidirectional: a stream carries one
// sequence, forward.
void Validate(const BenchCase& bench_case);

// D * P: the width of a layer's output, and of what infer and train
// produce per step and sequence.
int OutputWidth(const BenchCase& bench_case);

// Floating-point operations of one timed sample: one step (step mode), one
// forward (infer) or one forward + backward (train, counted as three times
// the forward, the usual convention). Only the matrix products are counted
// (with a projection, its product too); the gate tail and the SGD update
// are a few percent at most.
double SampleFlops(const BenchCase& bench_case);

// Elements of [T][B][width], checked for overflow (throws UsageError).
size_t SequenceElements(const BenchCase& bench_case, int width);

// Inputs in [-1, 1), a pure function of the seed and the count, so that every
// runner can feed the same values.
std::vector<float> PatternInput(size_t count, uint64_t seed);

// What a runner measured. `samples_ms` holds one entry per step (step mode)
// or per repetition (infer, train).
struct BenchResult {
  std::vector<double> samples_ms;
  uint64_t checksum = 0;
};

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_BENCH_CASE_H_
