// `lstmkit bench`: times one case on lstmkit and prints the contract's JSON
// line (bench_flags.cc lists the flags, bench_report.cc the fields).
#include <memory>

#include "bench_flags.h"
#include "bench_report.h"
#include "commands.h"
#include "lstmkit/lstmkit.hpp"
#include "lstmkit_bench.h"

namespace lstmkit::cli {

Command AddBenchCommand(CLI::App* parent) {
  CLI::App* app = parent->add_subcommand(
      "bench", "Time one case on lstmkit and print one JSON line");
  auto flags = std::make_shared<BenchFlags>();
  AddBenchFlags(app, flags.get());
  app->footer(app->get_footer() +
              "\n\nlstmkit trains against the mean squared error with zero "
              "targets. --dtype bf16 rounds the weight matrices to bfloat16 "
              "(biases, activations and sums stay f32).\n\nExamples:\n"
              "  lstmkit bench --mode step --batch 1 --seq 100 --input 256 "
              "--hidden 256 --layers 1 --threads 1\n"
              "  lstmkit bench --mode train --batch 64 --seq 100 --input 256 "
              "--hidden 256 --layers 2 --threads 2 --bidirectional\n");
  return {app, [flags](CommandIo& io) {
            const BenchCase bench_case = ParsedBenchCase(*flags);
            const BenchResult result = RunLstmkitBench(bench_case);
            const nlohmann::ordered_json extra = {{"target", ActiveTarget()},
                                                  {"version", Version()}};
            io.out << BenchJsonLine("lstmkit", bench_case, result, extra)
                   << std::endl;
            return kExitOk;
          }};
}

}  // namespace lstmkit::cli
