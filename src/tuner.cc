// The autotuner: measures a few candidates for each run-time parameter on
// this CPU, keeps the fastest by median time, and writes the tuning file.
// Candidates come from the cache sizes (a B micro-panel filling a quarter
// to three quarters of L1, an A block filling part of L2), not from a grid.
#include "tuner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "atomic_file.h"
#include "check.h"
#include "denormals.h"
#include "lstmkit/lstmkit.hpp"
#include "parallel_gemm.h"
#include "threads.h"
#include "tuning.h"

namespace lstmkit {

namespace {

using internal::Tuning;
using kernels::Blocking;

std::vector<float> Pattern(size_t n, float scale) {
  std::vector<float> v(n);
  uint32_t state = 2463534242u;
  for (float& x : v) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    x = scale * (static_cast<float>(state >> 8) / 16777216.0f - 0.5f);
  }
  return v;
}

// Median seconds of `repeats` timings of fn, each long enough to be
// measured (at least `seconds` / repeats).
double MedianSeconds(const std::function<void()>& fn, const TuneOptions& o) {
  using Clock = std::chrono::steady_clock;
  fn();  // warm caches and pages
  const double slice = o.seconds_per_candidate / o.repeats;
  std::vector<double> times;
  for (int r = 0; r < o.repeats; ++r) {
    int calls = 0;
    const auto start = Clock::now();
    double elapsed = 0.0;
    do {
      fn();
      ++calls;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < slice);
    times.push_back(elapsed / calls);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::string Describe(const Blocking& b) {
  std::ostringstream s;
  s << "mr=" << b.mr << " nr=" << b.nr << " kc=" << b.kc << " mc=" << b.mc
    << " nc=" << b.nc;
  return s.str();
}

// A GEMM shape class: what a layer of an LSTM asks of the kernels.
struct GemmClass {
  const char* name;
  internal::GemmShape shape;
  bool packed_b;  // weights packed once, or B packed as it goes (A^T B)
};

class Tuner {
 public:
  Tuner(const kernels::KernelTable& kt, const TuneOptions& options,
        const internal::TunerWorkload& workload)
      : kt_(kt),
        options_(options),
        workload_(workload),
        best_(internal::DefaultTuning(kt)) {}

  Tuning Run() {
    TuneGemm(
        {"layer input projection (T*B x 4H x I)", workload_.projection, true},
        &best_.gemm_packed);
    TuneGemm({"weight gradient (4H x I x T*B)", workload_.gradient, false},
             &best_.gemm);
    TuneStepRows();
    TuneTaskSizes();
    TuneStreamThreshold();
    return best_;
  }

  const nlohmann::json& measurements() const { return measurements_; }

 private:
  void Say(const std::string& line) {
    if (options_.progress) options_.progress(line);
  }

  double TimeGemm(const GemmClass& c, const Blocking& b) {
    const int m = c.shape.m, n = c.shape.n, k = c.shape.k;
    const std::vector<float> a = Pattern(size_t(m) * k, 1.0f);
    const std::vector<float> bm = Pattern(size_t(n) * k, 1.0f);
    std::vector<float> out(size_t(m) * n);
    if (c.packed_b) {
      kernels::PackedB packed;
      kernels::PackPanels(
          k, n, kernels::kPanelVectors * kt_.lanes,
          [&](int kk, int nn) { return bm[size_t(nn) * k + kk]; }, &packed);
      return MedianSeconds(
          [&] {
            kt_.gemm_packed(m, n, k, {a.data(), k, 1}, packed, 0.0f, out.data(),
                            n, b);
          },
          options_);
    }
    // A^T B with A [K][M]: the weight-gradient form.
    return MedianSeconds(
        [&] {
          kt_.gemm(m, n, k, {a.data(), 1, m}, {bm.data(), n, 1}, 0.0f,
                   out.data(), n, b);
        },
        options_);
  }

  // Tile shape first, then kc, then mc: each stage keeps the best so far.
  void TuneGemm(const GemmClass& c, Blocking* best) {
    Say(std::string("GEMM, ") + c.name);
    const double flops = 2.0 * c.shape.m * c.shape.n * c.shape.k;
    double best_time = TimeGemm(c, *best);
    Report(Describe(*best) + " (default)", flops / best_time);
    auto consider = [&](const Blocking& b) {
      const double t = TimeGemm(c, b);
      Report(Describe(b), flops / t);
      if (t < best_time) {
        best_time = t;
        *best = b;
      }
    };
    for (const Blocking& tile : kernels::TileCandidates(kt_)) {
      if (tile.mr == best->mr && tile.nr == best->nr) continue;
      Blocking b = *best;
      b.mr = tile.mr;
      b.nr = tile.nr;
      b.mc = std::max(b.mr, b.mc / b.mr * b.mr);
      consider(b);
    }
    const size_t l1 = kernels::Caches().l1d, l2 = kernels::Caches().l2;
    const size_t b_row = sizeof(float) * best->nr * kt_.lanes;
    const Blocking tile = *best;
    std::vector<int> depths;
    for (double share : {0.25, 0.5, 0.75, 1.0, 2.0}) {
      depths.push_back(
          std::max(8, static_cast<int>(l1 * share / b_row) / 8 * 8));
    }
    depths.push_back(kernels::DeepDepth(b_row));
    std::sort(depths.begin(), depths.end());
    depths.erase(std::unique(depths.begin(), depths.end()), depths.end());
    for (int kc : depths) {
      Blocking b = tile;
      b.kc = kc;
      if (b.kc != tile.kc) consider(b);
    }
    const Blocking depth = *best;
    for (double share : {0.25, 0.5, 0.75}) {
      Blocking b = depth;
      b.mc =
          std::max(b.mr, static_cast<int>(l2 * share / (sizeof(float) * b.kc)) /
                             b.mr * b.mr);
      if (b.mc != depth.mc) consider(b);
    }
    measurements_[c.name] = {{"best", Describe(*best)},
                             {"gflops", flops / best_time * 1e-9}};
    Say("  chosen: " + Describe(*best));
  }

  void Report(const std::string& what, double flops_per_second) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-40s %7.1f GFLOP/s", what.c_str(),
                  flops_per_second * 1e-9);
    Say(line);
  }

  // Rows per tile of the fused step. Where the target runs larger batches'
  // recurrent product as a GEMM (step_as_gemm), its tiles only serve
  // batches below kMinRowsForStepGemm.
  void TuneStepRows() {
    const int batch =
        kt_.step_as_gemm
            ? std::min(workload_.step_batch, kernels::kMinRowsForStepGemm - 1)
            : workload_.step_batch;
    const int hidden = workload_.step_hidden;
    const std::string b_equals = "B=" + std::to_string(batch);
    const std::string h_equals = "H=" + std::to_string(hidden);
    Say("fused LSTM step, " + b_equals + " " + h_equals);
    const int pw = kernels::kPanelVectors * kt_.lanes;
    kernels::PackedB w;
    const std::vector<float> weights =
        Pattern(size_t(hidden) * 4 * hidden, 0.1f);
    kernels::PackPanels(
        hidden, 4 * hidden, pw,
        [&](int k, int n) { return weights[size_t(k) * 4 * hidden + n]; }, &w);
    std::vector<float> gates(size_t(batch) * w.panels() * pw, 0.1f);
    std::vector<float> h_prev = Pattern(size_t(batch) * hidden, 1.0f);
    std::vector<float> c_prev(h_prev.size(), 0.1f), c(h_prev.size()),
        h(h_prev.size());
    const double flops = 2.0 * batch * 4.0 * hidden * hidden;
    double best_time = 0.0;
    for (int mr = 1; mr <= kernels::kMaxTileRows; ++mr) {
      kernels::LstmStepArgs args;
      args.batch = batch;
      args.hidden = hidden;
      args.h_prev = kernels::StateRows::Contiguous(h_prev.data(), hidden);
      args.w_hh = &w;
      args.gates = gates.data();
      args.gate_stride = static_cast<int>(gates.size() / batch);
      args.store_gates = false;
      args.c_prev = kernels::StateRows::Contiguous(c_prev.data(), hidden);
      args.c = c.data();
      args.h = h.data();
      args.mr = mr;
      const double t = MedianSeconds([&] { kt_.lstm_step(args); }, options_);
      Report("rows per tile " + std::to_string(mr), flops / t);
      if (best_time == 0.0 || t < best_time) {
        best_time = t;
        best_.step_rows = mr;
      }
    }
    measurements_["fused step (" + b_equals + ", " + h_equals + ")"] = {
        {"best_rows", best_.step_rows}, {"gflops", flops / best_time * 1e-9}};
    Say("  chosen: " + std::to_string(best_.step_rows) + " rows");
  }

  // The output block each parallel GEMM task computes, on every core.
  void TuneTaskSizes() {
    const internal::Threads threads(0);
    if (threads.concurrency() == 1) {
      Say("parallel GEMM tasks: one core, nothing to tune");
      return;
    }
    Say("parallel GEMM tasks, " + std::to_string(threads.concurrency()) +
        " threads, layer input projection");
    const int m = workload_.projection.m, n = workload_.projection.n,
              k = workload_.projection.k;
    const std::vector<float> a = Pattern(size_t(m) * k, 1.0f);
    const std::vector<float> bm = Pattern(size_t(n) * k, 1.0f);
    std::vector<float> out(size_t(m) * n);
    kernels::PackedB packed;
    kernels::PackPanels(
        k, n, kernels::kPanelVectors * kt_.lanes,
        [&](int kk, int nn) { return bm[size_t(nn) * k + kk]; }, &packed);
    double best_time = 0.0;
    const Tuning base = best_;
    for (int rows : {48, 96, 192, 384}) {
      for (int panels : {2, 4, 8}) {
        Tuning t = base;
        t.task_rows = rows;
        t.task_panels = panels;
        const internal::GemmContext ctx{&threads, &kt_, &t};
        const double time = MedianSeconds(
            [&] {
              threads.Run([&] {
                internal::ParallelGemmPacked(ctx, m, n, k, {a.data(), k, 1},
                                             packed, 0.0f, out.data(), n);
              });
            },
            options_);
        Report("rows " + std::to_string(rows) + ", panels " +
                   std::to_string(panels),
               2.0 * m * n * k / time);
        if (best_time == 0.0 || time < best_time) {
          best_time = time;
          best_.task_rows = rows;
          best_.task_panels = panels;
        }
      }
    }
    measurements_["parallel GEMM tasks"] = {{"rows", best_.task_rows},
                                            {"panels", best_.task_panels}};
  }

  // The smallest model whose streams step faster on every core than on one.
  void TuneStreamThreshold() {
    const internal::Threads threads(0);
    if (threads.concurrency() == 1) {
      Say("stream threads: one core, streams step on one thread");
      return;
    }
    Say("stream step, 1 thread against " +
        std::to_string(threads.concurrency()));
    size_t threshold = 0;
    for (int hidden : workload_.stream_hiddens) {
      ModelConfig config;
      config.input_size = hidden;
      config.hidden_size = hidden;
      Model model(config, InitOptions{1});
      const std::vector<float> x = Pattern(size_t(hidden), 1.0f);
      std::vector<float> y(hidden);
      auto time_with = [&](int n) {
        model.set_threads(n);
        Tuning t = best_;
        t.stream_parallel_bytes = 0;  // always parallel when threads > 1
        internal::OverrideTuning(&t);
        model.parameters_changed();
        Stream stream(model);
        const double s = MedianSeconds([&] { stream.Step(x, y); }, options_);
        internal::OverrideTuning(nullptr);
        return s;
      };
      const double one = time_with(1), all = time_with(0);
      char line[120];
      std::snprintf(line, sizeof(line),
                    "  H=%-4d %8.2f us on 1, %8.2f us on all", hidden,
                    one * 1e6, all * 1e6);
      Say(line);
      if (all >= one) break;
      threshold = model.parameters().size() * sizeof(float);
    }
    // Parallel never won: keep streams on one thread.
    best_.stream_parallel_bytes = threshold > 0 ? threshold : size_t{1} << 40;
    measurements_["stream threshold bytes"] = best_.stream_parallel_bytes;
  }

  const kernels::KernelTable& kt_;
  const TuneOptions& options_;
  const internal::TunerWorkload& workload_;
  Tuning best_;
  nlohmann::json measurements_ = nlohmann::json::object();
};

}  // namespace

std::string Tune(const TuneOptions& options) {
  return internal::TuneWith(options, internal::TunerWorkload{});
}

std::string internal::TuneWith(const TuneOptions& options,
                               const TunerWorkload& workload) {
  internal::Require(options.seconds_per_candidate > 0.0 &&
                        options.seconds_per_candidate <= 60.0,
                    "options.seconds_per_candidate must be in (0, 60], got ",
                    options.seconds_per_candidate);
  internal::Require(options.repeats >= 1 && options.repeats <= 101,
                    "options.repeats must be in [1, 101], got ",
                    options.repeats);
  const std::string path =
      options.path.empty() ? internal::TuningFilePath() : options.path;
  const char* env = std::getenv("LSTMKIT_TUNING");
  internal::Require(!path.empty(),
                    env != nullptr && *env == '\0'
                        ? "LSTMKIT_TUNING is set and empty, which turns the "
                          "tuning file off: give a path (options.path; -o on "
                          "the command line)"
                        : "no tuning file path: set options.path, "
                          "LSTMKIT_TUNING, XDG_CACHE_HOME or HOME");
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  internal::ScopedFlushDenormals flush;
  Tuner tuner(kt, options, workload);
  Tuning best = tuner.Run();
  best.source = path;
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const std::string text = internal::TuningToJson(
      best, internal::CurrentCpu(kt), tuner.measurements().dump());
  internal::WriteFileAtomically(
      path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  // Models made from now on in this process use it too.
  internal::OverrideTuning(&best);
  return path;
}

std::string DescribeTuning() {
  const kernels::KernelTable& kt = kernels::ActiveKernels();
  const Tuning t = internal::ActiveTuning(kt);
  std::ostringstream s;
  s << "tuning: " << t.source << "\n"
    << "  GEMM over packed weights: " << Describe(t.gemm_packed) << "\n"
    << "  GEMM packing as it goes:  " << Describe(t.gemm) << "\n"
    << "  fused step rows per tile: " << t.step_rows << "\n"
    << "  parallel GEMM task:       " << t.task_rows << " rows x "
    << t.task_panels << " panels\n"
    << "  streams step in parallel from " << t.stream_parallel_bytes
    << " bytes of weights\n";
  return s.str();
}

}  // namespace lstmkit
