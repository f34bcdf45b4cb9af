// Character language models from the command line: `lstmkit train charlm`,
// `lstmkit generate`, and what `eval` does with a charlm model.
#ifndef LSTMKIT_TOOLS_LSTMKIT_CHARLM_COMMANDS_H_
#define LSTMKIT_TOOLS_LSTMKIT_CHARLM_COMMANDS_H_

#include "cli.h"
#include "task_model.h"
#include "use_flags.h"

namespace lstmkit::cli {

Command AddTrainCharLmCommand(CLI::App* train);
Command AddGenerateCommand(CLI::App* parent);
// Bits per character on the last --tail of a text file.
int EvalCharLm(const TaskModel& model, const UseFlags& flags, CommandIo& io);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CHARLM_COMMANDS_H_
