#include "bench_flags.h"

namespace lstmkit::cli {
namespace {

constexpr char kModesFooter[] = R"(Modes:
  step   T single steps of one stream that carries its state (--batch must be
         1, and streams are unidirectional: no --bidirectional); times are
         per step, and the JSON adds p50_us and p99_us.
  infer  one forward over [T][B][I], no head; times are per forward.
  train  one forward, backward through time and SGD step (learning rate
         0.01); times are per iteration. The loss's gradient is elementwise
         in the top layer's outputs (the sum of the outputs, or the mean
         squared error against zero targets), so the work is the same. The
         input is data: its gradient is not computed (as in PyTorch, where
         x does not require one; oneDNN's primitive always computes it).
         gflops counts three times the forward's products either way.

One JSON line goes to stdout: impl, mode, median_ms, min_ms, max_ms, gflops,
checksum (FNV-1a 64 of the outputs, or of every parameter in train mode,
after the last repetition; the same for every --threads), then the case.
One untimed warm-up repetition runs first.)";

}  // namespace

void AddBenchFlags(CLI::App* app, BenchFlags* flags) {
  BenchCase& c = flags->bench_case;
  app->add_option("--mode", flags->mode, "step, infer or train")->required();
  app->add_option("--batch", c.batch, "B, sequences per batch")->required();
  app->add_option("--seq", c.seq_len, "T, time steps")->required();
  app->add_option("--input", c.input_size, "I, features per step")->required();
  app->add_option("--hidden", c.hidden_size, "H, units per layer")->required();
  app->add_option("--layers", c.layers, "L, stacked layers")->required();
  app->add_option("--threads", c.threads, "threads to use, 0 = all cores")
      ->required();
  app->add_flag("--bidirectional", c.bidirectional,
                "each layer also runs backwards (outputs concatenated); not "
                "with --mode step");
  app->add_option("--proj", c.proj_size,
                  "P: project h to P < H values (LSTMP); 0 = no projection")
      ->capture_default_str();
  app->add_option("--repeat", c.repeat, "timed repetitions")
      ->capture_default_str();
  app->add_option("--dtype", c.dtype, "weight type: f32 or bf16")
      ->capture_default_str();
  app->add_option("--seed", c.seed, "seed of the weights and inputs")
      ->capture_default_str();
  app->footer(kModesFooter);
}

BenchCase ParsedBenchCase(const BenchFlags& flags) {
  BenchCase c = flags.bench_case;
  c.mode = ParseMode(flags.mode);
  Validate(c);
  return c;
}

}  // namespace lstmkit::cli
