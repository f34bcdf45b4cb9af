// Sequence classification from the command line: `lstmkit train classify`,
// and what `eval` and `predict` do with a classify model.
#ifndef LSTMKIT_TOOLS_LSTMKIT_CLASSIFY_COMMANDS_H_
#define LSTMKIT_TOOLS_LSTMKIT_CLASSIFY_COMMANDS_H_

#include "cli.h"
#include "task_model.h"
#include "use_flags.h"

namespace lstmkit::cli {

Command AddTrainClassifyCommand(CLI::App* train);
// Accuracy and the confusion matrix on labelled rows.
int EvalClassify(const TaskModel& model, const UseFlags& flags, CommandIo& io);
// The predicted label of each row, as CSV on stdout.
int PredictClassify(const TaskModel& model, const UseFlags& flags,
                    CommandIo& io);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CLASSIFY_COMMANDS_H_
