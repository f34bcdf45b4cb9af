// The `lstmkit` command line: one program, one subcommand per job (train,
// eval, predict, generate, info, bench), each in its own <name>_command.cc
// or <task>_commands.cc.
#ifndef LSTMKIT_TOOLS_LSTMKIT_CLI_H_
#define LSTMKIT_TOOLS_LSTMKIT_CLI_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <ostream>

namespace lstmkit::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the work itself failed
inline constexpr int kExitUsage = 2;    // bad flags; nothing was run

// Where a command writes; tests pass string streams.
struct CommandIo {
  std::ostream& out;
  std::ostream& err;
  // Whether err is a terminal: training draws a progress bar there, and
  // writes plain lines otherwise.
  bool err_is_terminal = false;
};

// A subcommand: the CLI11 node that parses its flags, and what runs when it
// is the one given. `run` returns the exit status and may throw UsageError
// (exit 2) or any other std::exception (exit 1); RunCli prints either as one
// line on err.
struct Command {
  CLI::App* app = nullptr;
  std::function<int(CommandIo&)> run;
};

// Parses argv, runs the subcommand it names and returns the exit status.
int RunCli(int argc, const char* const* argv, std::ostream& out,
           std::ostream& err);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CLI_H_
