#include "bench_report.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "sample_stats.h"

namespace lstmkit::cli {
namespace {

// Timings carry nanosecond resolution at best; more digits are noise.
// Dividing the rounded integer by an exact power of ten gives the double
// nearest the decimal, which prints as that decimal.
double Rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

std::string Hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016" PRIx64, value);
  return text;
}

}  // namespace

nlohmann::ordered_json BenchReport(const std::string& impl, const BenchCase& c,
                                   const BenchResult& result,
                                   const nlohmann::ordered_json& extra) {
  const SampleStats ms = Summarize(result.samples_ms);
  nlohmann::ordered_json report;
  report["impl"] = impl;
  report["mode"] = ModeName(c.mode);
  report["median_ms"] = Rounded(ms.median, 6);
  report["min_ms"] = Rounded(ms.min, 6);
  report["max_ms"] = Rounded(ms.max, 6);
  report["gflops"] =
      ms.median > 0 ? Rounded(SampleFlops(c) / (ms.median * 1e6), 3) : 0.0;
  report["checksum"] = Hex64(result.checksum);
  if (c.mode == BenchMode::kStep) {
    report["p50_us"] = Rounded(ms.median * 1e3, 3);
    report["p99_us"] = Rounded(ms.p99 * 1e3, 3);
  }
  report["batch"] = c.batch;
  report["seq"] = c.seq_len;
  report["input"] = c.input_size;
  report["hidden"] = c.hidden_size;
  report["layers"] = c.layers;
  report["bidirectional"] = c.bidirectional;
  report["proj"] = c.proj_size;
  report["threads"] = c.threads;
  report["repeat"] = c.repeat;
  report["dtype"] = c.dtype;
  report["seed"] = c.seed;
  for (const auto& [key, value] : extra.items()) report[key] = value;
  return report;
}

std::string BenchJsonLine(const std::string& impl, const BenchCase& c,
                          const BenchResult& result,
                          const nlohmann::ordered_json& extra) {
  return BenchReport(impl, c, result, extra).dump();
}

}  // namespace lstmkit::cli
