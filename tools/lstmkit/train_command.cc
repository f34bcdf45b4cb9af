// `lstmkit train <task>`: one subcommand per task, each in its own file
// (forecast_commands.cc, charlm_commands.cc, classify_commands.cc).
#include <memory>
#include <vector>

#include "charlm_commands.h"
#include "classify_commands.h"
#include "commands.h"
#include "forecast_commands.h"

namespace lstmkit::cli {

Command AddTrainCommand(CLI::App* parent) {
  CLI::App* app = parent->add_subcommand(
      "train", "Train a model: forecast, charlm or classify");
  app->require_subcommand(1);
  auto tasks = std::make_shared<std::vector<Command>>(std::vector<Command>{
      AddTrainForecastCommand(app),
      AddTrainCharLmCommand(app),
      AddTrainClassifyCommand(app),
  });
  app->footer(R"(
Examples:
  lstmkit train forecast --data data/airline_passengers.csv --target passengers \
      --log --window 24 --horizon 12 --season 12 --holdout 24 --model airline.lstm
  lstmkit train charlm --time-limit 120 --model devil.lstm
  lstmkit train classify --data data/waveforms_train.csv \
      --test data/waveforms_test.csv --model waveforms.lstm
Each task has its own --help, e.g. 'lstmkit train forecast --help'.)");
  return {app, [tasks](CommandIo& io) {
            for (const Command& task : *tasks) {
              if (task.app->parsed()) return task.run(io);
            }
            return kExitUsage;  // require_subcommand(1) saw to it
          }};
}

}  // namespace lstmkit::cli
