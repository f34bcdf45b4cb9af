// `lstmkit tune`: measures the kernels' run-time parameters on this machine
// and writes the tuning file that every later run picks up.
#include <memory>
#include <string>

#include "commands.h"
#include "lstmkit/lstmkit.hpp"

namespace lstmkit::cli {
namespace {

struct TuneFlags {
  std::string output;
  double seconds = 0.3;
  int repeats = 5;
};

int RunTune(const TuneFlags& flags, CommandIo& io) {
  TuneOptions options;
  options.path = flags.output;
  options.seconds_per_candidate = flags.seconds;
  options.repeats = flags.repeats;
  options.progress = [&](const std::string& line) {
    io.err << line << std::endl;
  };
  io.err << "tuning for " << ActiveTarget()
         << "; keep the machine otherwise idle" << std::endl;
  const std::string path = Tune(options);
  io.out << "wrote " << path << "\n" << DescribeTuning();
  return 0;
}

}  // namespace

Command AddTuneCommand(CLI::App* parent) {
  auto flags = std::make_shared<TuneFlags>();
  CLI::App* app = parent->add_subcommand(
      "tune",
      "Measure the kernels' blocking and threading parameters on this CPU "
      "and write the tuning file every later run reads (results never "
      "change, only speed)");
  app->add_option("-o,--output", flags->output,
                  "Tuning file to write (default: $LSTMKIT_TUNING, else "
                  "$XDG_CACHE_HOME/lstmkit/tuning.json, else "
                  "~/.cache/lstmkit/tuning.json)");
  app->add_option("--seconds", flags->seconds,
                  "Measuring time per candidate, in seconds")
      ->check(CLI::Range(0.001, 60.0));
  app->add_option("--repeats", flags->repeats,
                  "Timings per candidate; the median wins")
      ->check(CLI::Range(1, 101));
  app->footer(
      "Examples:\n"
      "  lstmkit tune                      # about a minute on 2 cores\n"
      "  lstmkit tune --seconds 0.05       # a quick, noisier pass\n"
      "  LSTMKIT_TUNING=/tmp/t.json lstmkit tune && lstmkit info");
  return {app, [flags](CommandIo& io) { return RunTune(*flags, io); }};
}

}  // namespace lstmkit::cli
