// onednn_runner: the `lstmkit bench` contract on oneDNN's LSTM primitive,
// the same flags and the same JSON line (impl "onednn"), for tools/compare.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <dnnl.hpp>
#include <iostream>
#include <string>

#include "bench_flags.h"
#include "bench_report.h"
#include "onednn_lstm.h"

namespace {

constexpr char kName[] = "onednn_runner";
constexpr char kFooter[] = R"(

oneDNN trains with the gradient of the sum of the outputs (diff_dst = 1).
Debian's oneDNN runs on OpenMP: --threads N calls omp_set_num_threads(N);
--threads 0 leaves OpenMP's default (OMP_NUM_THREADS, else every core).
)";

std::string OnednnVersion() {
  const dnnl::version_t* v = dnnl::version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}

int Run(const lstmkit::cli::BenchFlags& flags) {
  using lstmkit::cli::BenchCase;
  const BenchCase bench_case = lstmkit::cli::ParsedBenchCase(flags);
  if (bench_case.threads > 0) omp_set_num_threads(bench_case.threads);
  const lstmkit::cli::BenchResult result =
      lstmkit::onednn_bench::RunOnednnBench(bench_case);
  const nlohmann::ordered_json extra = {
      {"omp_threads", omp_get_max_threads()},
      {"isa", lstmkit::onednn_bench::OnednnIsaName()},
      {"version", OnednnVersion()}};
  std::cout << lstmkit::cli::BenchJsonLine("onednn", bench_case, result, extra)
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Time one case on oneDNN's LSTM and print one JSON line", kName);
  lstmkit::cli::BenchFlags flags;
  lstmkit::cli::AddBenchFlags(&app, &flags);
  app.footer(app.get_footer() + kFooter);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << kName << ": error: " << e.what() << "\n";
    return 2;
  }
  try {
    return Run(flags);
  } catch (const lstmkit::cli::UsageError& e) {
    std::cerr << kName << ": error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << kName << ": error: " << e.what() << "\n";
    return 1;
  }
}
