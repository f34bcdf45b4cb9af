#include "cli.h"

#include <unistd.h>

#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "bench_case.h"
#include "commands.h"
#include "lstmkit/lstmkit.hpp"

namespace lstmkit::cli {
namespace {

// "lstmkit", "lstmkit bench" or "lstmkit train forecast": who is speaking in
// an error message.
std::string Speaker(const CLI::App& app) {
  std::string name = "lstmkit";
  for (const CLI::App* level = &app; !level->get_subcommands().empty();) {
    level = level->get_subcommands().front();
    name += " " + level->get_name();
  }
  return name;
}

// A first word that is not a subcommand is the likeliest mistake of all, and
// CLI11 would only say that a subcommand is required.
bool IsUnknownCommand(const CLI::App& app, int argc, const char* const* argv) {
  return app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-';
}

std::string CommandNames(const CLI::App& app) {
  const std::function<bool(const CLI::App*)> every;
  std::string names;
  for (const CLI::App* sub : app.get_subcommands(every)) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

int ReportParseError(const CLI::App& app, const CLI::ParseError& error,
                     int argc, const char* const* argv, std::ostream& err) {
  const std::string speaker = Speaker(app);
  if (IsUnknownCommand(app, argc, argv)) {
    err << speaker << ": error: unknown command '" << argv[1]
        << "' (commands: " << CommandNames(app) << ")\n";
  } else {
    err << speaker << ": error: " << error.what() << " (see '" << speaker
        << " --help')\n";
  }
  return kExitUsage;
}

int RunCommand(const CLI::App& app, const Command& command, CommandIo& io) {
  try {
    return command.run(io);
  } catch (const UsageError& e) {
    io.err << Speaker(app) << ": error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    io.err << Speaker(app) << ": error: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace

int RunCli(int argc, const char* const* argv, std::ostream& out,
           std::ostream& err) {
  CLI::App app("lstmkit: LSTM networks for CPUs, inference and training",
               "lstmkit");
  app.set_version_flag("--version", Version());
  app.require_subcommand(1);
  const std::vector<Command> commands = {
      AddTrainCommand(&app),    AddEvalCommand(&app), AddPredictCommand(&app),
      AddGenerateCommand(&app), AddInfoCommand(&app), AddBenchCommand(&app),
      AddTuneCommand(&app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    return ReportParseError(app, e, argc, argv, err);
  }
  CommandIo io{out, err, &err == &std::cerr && isatty(STDERR_FILENO) == 1};
  for (const Command& command : commands) {
    if (command.app->parsed()) return RunCommand(app, command, io);
  }
  return kExitUsage;  // unreachable: require_subcommand(1) saw to it
}

}  // namespace lstmkit::cli
