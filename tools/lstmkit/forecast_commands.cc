#include "forecast_commands.h"

#include <memory>
#include <string>
#include <vector>

#include "bench_case.h"
#include "csv_table.h"
#include "forecast_data.h"
#include "forecast_report.h"
#include "interrupt.h"
#include "supervised_training.h"
#include "training_flags.h"

namespace lstmkit::cli {
namespace {

constexpr char kTrainFooter[] = R"(
The series is cut into sliding windows: the model reads --window rows and
forecasts the --horizon rows after them. Rows are split by time: the last
--holdout rows are kept out of training and forecast at the end, the
--validation rows before them choose when to stop (early stopping), and the
rest train. Normalization is fitted on the training rows and saved in the
model file. Errors are reported beside a seasonal-naive baseline (the value
one --season earlier).

Examples:
  lstmkit train forecast --data data/airline_passengers.csv --target passengers \
      --time month --log --window 24 --horizon 12 --season 12 --holdout 24 \
      --model airline.lstm
  lstmkit train forecast --data load.csv --target load --features temp,hour \
      --window 48 --horizon 6 --model load.lstm)";

struct ForecastFlags {
  TrainingFlags training;
  std::string data_path;
  std::string header = "auto";
  ForecastSpec spec;
  int validation = -1;  // rows; -1 = a fifth of those before the holdout
  bool absolute = false;
};

// The name a column is saved under: its header, or its number.
std::string SavedColumnName(const CsvTable& table, int column) {
  return table.header.empty() ? std::to_string(column + 1)
                              : table.header[column];
}

// Resolves the column flags against the table, so that the saved spec names
// each column the way the data does.
void ResolveColumns(const CsvTable& table, ForecastSpec* spec) {
  const int target = spec->target.empty()
                         ? table.num_columns() - 1
                         : FindColumn(table, spec->target, "--target");
  spec->target = SavedColumnName(table, target);
  for (std::string& feature : spec->features) {
    feature = SavedColumnName(table, FindColumn(table, feature, "--features"));
  }
  if (!spec->time.empty()) {
    spec->time =
        SavedColumnName(table, FindColumn(table, spec->time, "--time"));
  }
}

struct TimeSplit {
  int train_end = 0;       // rows [0, train_end) train
  int validation_end = 0;  // rows [train_end, validation_end) validate
};

TimeSplit SplitRows(int rows, const ForecastFlags& flags) {
  const ForecastSpec& spec = flags.spec;
  const int usable = rows - spec.holdout;
  if (spec.holdout < 0 || usable <= 0) {
    throw UsageError("--holdout " + std::to_string(spec.holdout) +
                     " must be from 0 to fewer than the " +
                     std::to_string(rows) + " rows");
  }
  const int validation = flags.validation >= 0 ? flags.validation : usable / 5;
  TimeSplit split;
  split.validation_end = usable;
  split.train_end = usable - validation;
  const int first_training_target = spec.window + spec.horizon;
  if (split.train_end < first_training_target + 1) {
    throw UsageError(
        "too few rows to train: " + std::to_string(split.train_end) +
        " training rows (after --holdout " + std::to_string(spec.holdout) +
        " and --validation " + std::to_string(validation) +
        ") give no two windows of --window " + std::to_string(spec.window) +
        " + --horizon " + std::to_string(spec.horizon));
  }
  return split;
}

void ValidateSpec(const ForecastSpec& spec) {
  if (spec.window < 1) throw UsageError("--window must be at least 1");
  if (spec.horizon < 1) throw UsageError("--horizon must be at least 1");
  if (spec.season < 1) throw UsageError("--season must be at least 1");
}

// The baseline looks one season back from each forecast origin.
void RequireSeasonBeforeHoldout(int rows, int holdout, int season) {
  if (rows - holdout < season) {
    throw UsageError(
        "--season " + std::to_string(season) + " needs at least " +
        std::to_string(season) + " rows before the " + std::to_string(holdout) +
        " held-out ones, and there are " + std::to_string(rows - holdout));
  }
}

std::string RowRange(const Series& series, int first, int end) {
  return "rows " + std::to_string(first + 1) + "-" + std::to_string(end) +
         " (" + series.times[first] + " .. " + series.times[end - 1] + ")";
}

int RunTrainForecast(ForecastFlags& flags, CommandIo& io) {
  ValidateTrainingFlags(&flags.training);
  ForecastSpec& spec = flags.spec;
  spec.relative = !flags.absolute;
  ValidateSpec(spec);
  const CsvTable table =
      ReadCsvFile(flags.data_path, ParseHeaderFlag(flags.header));
  ResolveColumns(table, &spec);
  const Series series = ReadSeries(table, spec);
  const TimeSplit split = SplitRows(series.rows(), flags);
  RequireSeasonBeforeHoldout(series.rows(), spec.holdout, spec.season);
  FitScaling(series, split.train_end, &spec);
  const std::vector<float> channels = ScaledChannels(series, spec);
  const Dataset train = Windows(channels, spec, spec.window - 1,
                                split.train_end - 1 - spec.horizon);
  const bool has_validation = split.validation_end > split.train_end;
  Dataset validation;
  if (has_validation) {
    validation =
        Windows(channels, spec,
                std::max(spec.window - 1, split.train_end - spec.horizon),
                split.validation_end - 1 - spec.horizon);
  }
  io.out << "forecasting " << spec.target << " from " << flags.data_path << ", "
         << series.rows() << " rows\n"
         << "  train       " << RowRange(series, 0, split.train_end) << ", "
         << train.num_samples << " windows\n";
  if (has_validation) {
    io.out << "  validation  "
           << RowRange(series, split.train_end, split.validation_end) << ", "
           << validation.num_samples << " windows\n";
  }
  if (spec.holdout > 0) {
    io.out << "  holdout     "
           << RowRange(series, split.validation_end, series.rows())
           << ", forecast at the end\n";
  }
  io.out << std::flush;

  const ModelConfig config =
      ModelConfigFromFlags(flags.training, spec.channels(), spec.horizon,
                           OutputActivation::kIdentity, OutputSteps::kLastStep);
  Model model(config, InitOptions{flags.training.seed});
  SupervisedJob job;
  job.task = Task::kForecast;
  job.settings = spec.ToJson();
  job.train = &train;
  job.validation = has_validation ? &validation : nullptr;
  job.loss = LossKind::kMeanSquaredError;
  const TrainingOutcome outcome =
      TrainSupervised(&model, job, flags.training, io);
  if (outcome.interrupted) return kExitInterrupted;
  io.out << "\n"
         << outcome.stop_reason << "; kept the model of epoch "
         << outcome.best_epoch << ", saved to " << flags.training.model_path
         << "\n";
  WriteLossCurve(outcome.curve, flags.training, "Training loss", io);
  if (spec.holdout > 0) {
    io.out << "\n";
    ReportHoldout(model, series, spec, spec.holdout,
                  SiblingPath(flags.training.model_path, "_forecast.csv"),
                  flags.training.plot, io.out);
  }
  return kExitOk;
}

// Reads the model's columns from the data file named by the flags.
Series ReadModelSeries(const ForecastSpec& spec, const UseFlags& flags) {
  const CsvTable table =
      ReadCsvFile(flags.data_path, ParseHeaderFlag(flags.header));
  return ReadSeries(table, spec);
}

}  // namespace

Command AddTrainForecastCommand(CLI::App* train) {
  CLI::App* app = train->add_subcommand(
      "forecast", "Train a forecaster on a time series in a CSV file");
  auto flags = std::make_shared<ForecastFlags>();
  flags->training.hidden = 32;
  flags->training.epochs = 300;
  flags->training.batch = 16;
  flags->training.learning_rate = 0.005f;
  flags->training.patience = 40;
  app->add_option("--data", flags->data_path, "the CSV or TSV file")
      ->required();
  app->add_option(
      "--target", flags->spec.target,
      "the column to forecast, by name or number (default: the last)");
  app->add_option("--features", flags->spec.features,
                  "more input columns, comma-separated")
      ->delimiter(',');
  app->add_option("--time", flags->spec.time,
                  "a column of time labels for the output (such as dates)");
  app->add_option("--header", flags->header, "auto, yes or no")
      ->capture_default_str();
  app->add_option("--window", flags->spec.window, "rows the model reads")
      ->capture_default_str();
  app->add_option("--horizon", flags->spec.horizon, "rows forecast at once")
      ->capture_default_str();
  app->add_option(
         "--season", flags->spec.season,
         "season length of the baseline, in rows (12 for monthly data)")
      ->capture_default_str();
  app->add_option(
         "--holdout", flags->spec.holdout,
         "rows at the end kept out of training and forecast at the end")
      ->capture_default_str();
  app->add_option(
      "--validation", flags->validation,
      "rows before the holdout for early stopping (default: a fifth)");
  app->add_flag("--log", flags->spec.log,
                "model the logarithm of the target (for growth in percent)");
  app->add_flag("--absolute", flags->absolute,
                "feed absolute levels instead of levels relative to the "
                "window's last value");
  AddTrainingFlags(app, &flags->training);
  AddBidirectionalFlag(app, &flags->training);
  app->footer(kTrainFooter);
  return {app, [flags](CommandIo& io) { return RunTrainForecast(*flags, io); }};
}

int EvalForecast(const TaskModel& model, const UseFlags& flags, CommandIo& io) {
  const ForecastSpec spec =
      ForecastSpec::FromJson(model.settings, flags.model_path);
  const Series series = ReadModelSeries(spec, flags);
  const int holdout = flags.holdout >= 0 ? flags.holdout
                      : spec.holdout > 0 ? spec.holdout
                                         : spec.horizon;
  if (holdout < 1 || series.rows() - holdout < spec.window) {
    throw UsageError("--holdout " + std::to_string(holdout) +
                     " must be at least 1 and leave the model's window of " +
                     std::to_string(spec.window) + " rows before it (" +
                     flags.data_path + " has " + std::to_string(series.rows()) +
                     ")");
  }
  RequireSeasonBeforeHoldout(series.rows(), holdout, spec.season);
  const std::string csv = flags.output.empty()
                              ? SiblingPath(flags.model_path, "_forecast.csv")
                              : flags.output;
  ReportHoldout(model.model, series, spec, holdout, csv, flags.plot, io.out);
  return kExitOk;
}

int PredictForecast(const TaskModel& model, const UseFlags& flags,
                    CommandIo& io) {
  const ForecastSpec spec =
      ForecastSpec::FromJson(model.settings, flags.model_path);
  const Series series = ReadModelSeries(spec, flags);
  if (series.rows() < spec.window) {
    throw std::runtime_error(flags.data_path + ": " +
                             std::to_string(series.rows()) +
                             " rows, fewer than the model's window of " +
                             std::to_string(spec.window));
  }
  const std::vector<double> forecast = Forecast(
      model.model, ScaledChannels(series, spec), spec, series.rows() - 1);
  io.out << "step,forecast\n";
  for (size_t step = 0; step < forecast.size(); ++step) {
    char value[32];
    std::snprintf(value, sizeof(value), "%.6g", forecast[step]);
    io.out << "+" << step + 1 << "," << value << "\n";
  }
  return kExitOk;
}

}  // namespace lstmkit::cli
