// Every subcommand of `lstmkit`, one function each, defined in
// <name>_command.cc: it adds the subcommand and its flags to `parent` and
// returns what runs it. A new subcommand adds a line here and one in the
// list in cli.cc.
#ifndef LSTMKIT_TOOLS_LSTMKIT_COMMANDS_H_
#define LSTMKIT_TOOLS_LSTMKIT_COMMANDS_H_

#include "cli.h"

namespace lstmkit::cli {

Command AddTrainCommand(CLI::App* parent);
Command AddEvalCommand(CLI::App* parent);
Command AddPredictCommand(CLI::App* parent);
Command AddGenerateCommand(CLI::App* parent);
Command AddInfoCommand(CLI::App* parent);
Command AddBenchCommand(CLI::App* parent);
Command AddTuneCommand(CLI::App* parent);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_COMMANDS_H_
