// `lstmkit eval` and `lstmkit predict`: use a trained model on data. The
// model file says which task it was trained for, and that picks what runs.
#include <memory>
#include <stdexcept>
#include <string>

#include "charlm_commands.h"
#include "classify_commands.h"
#include "commands.h"
#include "forecast_commands.h"
#include "task_model.h"
#include "use_flags.h"

namespace lstmkit::cli {
namespace {

void AddModelAndData(CLI::App* app, UseFlags* flags) {
  app->add_option("--model,-m", flags->model_path,
                  "a model from 'lstmkit train'")
      ->required();
  app->add_option("--data", flags->data_path,
                  "the data: a CSV/TSV file, or a text file for charlm models")
      ->required();
  app->add_option("--header", flags->header, "CSV files: auto, yes or no")
      ->capture_default_str();
  app->add_option("--threads", flags->threads, "threads to use; 0 = all cores")
      ->capture_default_str();
}

TaskModel LoadForUse(const UseFlags& flags, const std::string& command) {
  TaskModel model = LoadAnyTaskModel(flags.model_path, command);
  model.model.set_threads(flags.threads);
  return model;
}

// The flags of `eval` that only one task reads.
struct TaskFlag {
  const char* name;
  Task task;
};
constexpr TaskFlag kEvalTaskFlags[] = {{"--holdout", Task::kForecast},
                                       {"--output", Task::kForecast},
                                       {"--no-plot", Task::kForecast},
                                       {"--tail", Task::kCharLm}};

// A flag for another task would be silently ignored: say so instead.
void RejectOtherTasksFlags(const CLI::App& app, const TaskModel& model,
                           const std::string& path) {
  for (const TaskFlag& flag : kEvalTaskFlags) {
    if (flag.task == model.task || app.count(flag.name) == 0) continue;
    throw std::runtime_error(std::string(flag.name) + " applies to " +
                             TaskName(flag.task) + " models, and " + path +
                             " is a " + TaskName(model.task) + " model");
  }
}

}  // namespace

Command AddEvalCommand(CLI::App* parent) {
  CLI::App* app = parent->add_subcommand(
      "eval",
      "Measure a trained model on data (RMSE/MAE, bits per "
      "character, accuracy)");
  auto flags = std::make_shared<UseFlags>();
  AddModelAndData(app, flags.get());
  app->add_option(
      "--holdout", flags->holdout,
      "forecast: rows at the end to forecast (default: as trained)");
  app->add_option("--tail", flags->tail,
                  "charlm: the fraction of the text at its end to measure")
      ->capture_default_str();
  app->add_option("--output", flags->output,
                  "forecast: the CSV to write (default: beside the model)");
  app->add_flag_callback(
      "--no-plot", [plot = &flags->plot] { *plot = false; },
      "forecast: do not draw a PNG");
  app->footer(R"(
Examples:
  lstmkit eval --model airline.lstm --data data/airline_passengers.csv
  lstmkit eval --model devil.lstm --data data/devils_dictionary.txt --tail 0.1
  lstmkit eval --model waveforms.lstm --data data/waveforms_test.csv)");
  return {app, [app, flags](CommandIo& io) {
            const TaskModel model = LoadForUse(*flags, "lstmkit eval");
            RejectOtherTasksFlags(*app, model, flags->model_path);
            switch (model.task) {
              case Task::kForecast:
                return EvalForecast(model, *flags, io);
              case Task::kCharLm:
                return EvalCharLm(model, *flags, io);
              case Task::kClassify:
                return EvalClassify(model, *flags, io);
            }
            return kExitFailure;
          }};
}

Command AddPredictCommand(CLI::App* parent) {
  CLI::App* app = parent->add_subcommand(
      "predict", "Forecast past the end of a series, or label sequences");
  auto flags = std::make_shared<UseFlags>();
  AddModelAndData(app, flags.get());
  app->footer(R"(
A forecast model forecasts the rows after the end of --data; a classify
model labels each row of --data (its label column, if any, is ignored).
Results go to stdout as CSV. For charlm models use 'lstmkit generate'.

Examples:
  lstmkit predict --model airline.lstm --data data/airline_passengers.csv
  lstmkit predict --model waveforms.lstm --data data/waveforms_test.csv)");
  return {app, [flags](CommandIo& io) {
            const TaskModel model = LoadForUse(*flags, "lstmkit predict");
            switch (model.task) {
              case Task::kForecast:
                return PredictForecast(model, *flags, io);
              case Task::kClassify:
                return PredictClassify(model, *flags, io);
              case Task::kCharLm:
                break;
            }
            throw std::runtime_error(flags->model_path +
                                     " is a charlm model; 'lstmkit predict' "
                                     "needs a forecast or classify model (use "
                                     "'lstmkit generate' for text)");
          }};
}

}  // namespace lstmkit::cli
