// Serving many conversations at once: S streams on one shared model, stepped
// by W worker threads (each owns S / W streams and steps them in turn), with
// the model's own threads setting at 1 so that the service's threads are the
// only parallelism. Prints one line per case: the p50 and p99 latency of a
// single step, and the steps per second of all workers together.
//
//   concurrent_streams [--streams S] [--workers W] [--steps N]
//                      [--hidden H,H,...] [--dtype f32|bf16|both]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "pattern_input.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int streams = 8;
  int workers = 2;
  int steps = 2000;  // timed steps per stream, after as many warm-up steps
  std::vector<int> hidden = {64, 128, 256, 512, 1024};
  std::vector<std::string> dtypes = {"f32", "bf16"};
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "concurrent_streams: %s\nusage: concurrent_streams [--streams "
               "S] [--workers W] [--steps N] [--hidden H,H,...] [--dtype "
               "f32|bf16|both]\n",
               why.c_str());
  std::exit(2);
}

int PositiveInt(const char* flag, const char* text) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 1 || value > 1 << 20) {
    Usage(std::string(flag) + " must be a positive integer, got '" + text +
          "'");
  }
  return static_cast<int>(value);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--streams") {
      o.streams = PositiveInt("--streams", value);
    } else if (flag == "--workers") {
      o.workers = PositiveInt("--workers", value);
    } else if (flag == "--steps") {
      o.steps = PositiveInt("--steps", value);
    } else if (flag == "--hidden") {
      o.hidden.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        o.hidden.push_back(PositiveInt("--hidden", item.c_str()));
      }
    } else if (flag == "--dtype") {
      const std::string d = value;
      if (d == "both") {
        o.dtypes = {"f32", "bf16"};
      } else if (d == "f32" || d == "bf16") {
        o.dtypes = {d};
      } else {
        Usage("--dtype must be f32, bf16 or both, got '" + d + "'");
      }
    } else {
      Usage("unknown flag " + flag);
    }
  }
  if (o.streams % o.workers != 0) {
    Usage("--streams must be a multiple of --workers");
  }
  return o;
}

using lstmkit::bench::Pattern;

// One worker: its streams stepped in turn, 2 * steps times each; the second
// half is timed, one sample per step.
std::vector<double> RunWorker(const lstmkit::Model& model, int streams,
                              int steps, const std::vector<float>& x) {
  const int hidden = model.config().hidden_size;
  std::vector<lstmkit::Stream> own;
  for (int s = 0; s < streams; ++s) own.emplace_back(model);
  std::vector<float> y(hidden);
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(streams) * steps);
  for (int t = 0; t < 2 * steps; ++t) {
    const lstmkit::Span<const float> x_t(
        x.data() + static_cast<size_t>(t % 100) * hidden, hidden);
    for (lstmkit::Stream& stream : own) {
      const Clock::time_point start = Clock::now();
      stream.Step(x_t, y);
      if (t >= steps) {
        samples.push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - start)
                .count());
      }
    }
  }
  return samples;
}

double Percentile(std::vector<double>* v, double p) {
  const size_t rank = static_cast<size_t>(p * (v->size() - 1) + 0.5);
  std::nth_element(v->begin(), v->begin() + rank, v->end());
  return (*v)[rank];
}

void RunCase(const Options& o, int hidden, const std::string& dtype) {
  lstmkit::ModelConfig config;
  config.input_size = hidden;
  config.hidden_size = hidden;
  lstmkit::Model model(config, {1});
  model.set_threads(1);
  if (dtype == "bf16") {
    model.set_weight_precision(lstmkit::WeightPrecision::kBF16);
  }
  const std::vector<float> x = Pattern(static_cast<size_t>(100) * hidden);
  std::vector<std::vector<double>> per_worker(o.workers);
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.workers; ++w) {
    workers.emplace_back([&, w] {
      per_worker[w] = RunWorker(model, o.streams / o.workers, o.steps, x);
    });
  }
  for (std::thread& t : workers) t.join();
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (const auto& s : per_worker) all.insert(all.end(), s.begin(), s.end());
  const double total_steps = 2.0 * o.steps * o.streams;
  std::printf("| %4d | %-4s | %2d | %2d | %8.2f | %8.2f | %10.0f |\n", hidden,
              dtype.c_str(), o.streams, o.workers, Percentile(&all, 0.5),
              Percentile(&all, 0.99), total_steps / seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::printf(
      "|    H | type | streams | workers | p50 µs | p99 µs | steps/s |\n"
      "|-----:|------|---:|---:|---------:|---------:|-----------:|\n");
  for (const int hidden : o.hidden) {
    for (const std::string& dtype : o.dtypes) RunCase(o, hidden, dtype);
  }
  return 0;
}
