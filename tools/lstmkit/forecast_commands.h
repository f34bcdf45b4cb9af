// Forecasting from the command line: `lstmkit train forecast`, and what
// `eval` and `predict` do with a forecast model.
#ifndef LSTMKIT_TOOLS_LSTMKIT_FORECAST_COMMANDS_H_
#define LSTMKIT_TOOLS_LSTMKIT_FORECAST_COMMANDS_H_

#include "cli.h"
#include "task_model.h"
#include "use_flags.h"

namespace lstmkit::cli {

Command AddTrainForecastCommand(CLI::App* train);
// Forecasts the last --holdout rows of the data and compares them with the
// truth and the seasonal-naive baseline.
int EvalForecast(const TaskModel& model, const UseFlags& flags, CommandIo& io);
// Forecasts the `horizon` rows after the end of the data.
int PredictForecast(const TaskModel& model, const UseFlags& flags,
                    CommandIo& io);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_FORECAST_COMMANDS_H_
