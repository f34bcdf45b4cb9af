#include "forecast_report.h"

#include <cstdarg>
#include <cstdio>

#include "input_file.h"
#include "plots.h"
#include "training_flags.h"

namespace lstmkit::cli {
namespace {

std::string Row(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Row(const char* format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  return text;
}

std::string Value(double value) { return Row("%.6g", value); }

std::string ForecastCsv(const Series& series, const HoldoutForecast& holdout) {
  std::string csv = "time,truth,forecast,seasonal_naive\n";
  size_t next = 0;
  for (int r = 0; r < series.rows(); ++r) {
    std::string time = series.times[r];
    if (time.find_first_of(",\"\n") != std::string::npos)
      time = "row " + std::to_string(r + 1);
    csv += time + "," + Value(series.target[r]) + ",";
    if (next < holdout.rows.size() && holdout.rows[next] == r) {
      csv +=
          Value(holdout.forecast[next]) + "," + Value(holdout.baseline[next]);
      ++next;
    } else {
      csv += ",";
    }
    csv += "\n";
  }
  return csv;
}

}  // namespace

ErrorSummary ReportHoldout(const Model& model, const Series& series,
                           const ForecastSpec& spec, int holdout,
                           const std::string& csv_path, bool plot,
                           std::ostream& out) {
  const HoldoutForecast result = ForecastHoldout(model, series, spec, holdout);
  out << "the last " << holdout << " rows, forecast " << spec.horizon
      << " at a time from the rows before them:\n"
      << Row("%12s %12s %12s %12s\n", "time", "truth", "forecast",
             "seasonal naive");
  for (size_t i = 0; i < result.rows.size(); ++i) {
    out << Row("%12s %12.6g %12.6g %12.6g\n",
               series.times[result.rows[i]].c_str(), result.truth[i],
               result.forecast[i], result.baseline[i]);
  }
  const ErrorSummary model_errors = Errors(result.forecast, result.truth);
  const ErrorSummary baseline_errors = Errors(result.baseline, result.truth);
  out << "\n"
      << Row("%-26s %10s %10s\n", "", "RMSE", "MAE")
      << Row("%-26s %10.3f %10.3f\n", "LSTM", model_errors.rmse,
             model_errors.mae)
      << Row("%-26s %10.3f %10.3f\n",
             ("seasonal naive (season " + std::to_string(spec.season) + ")")
                 .c_str(),
             baseline_errors.rmse, baseline_errors.mae);
  if (baseline_errors.rmse > 0) {
    out << Row("%-26s %9.0f%% %9.0f%%\n", "LSTM error / baseline's",
               100 * model_errors.rmse / baseline_errors.rmse,
               100 * model_errors.mae / baseline_errors.mae);
  }
  WriteTextFile(csv_path, ForecastCsv(series, result));
  out << "\nwrote " << csv_path << "\n";
  if (plot) {
    out << DrawPlot("forecast", csv_path, SiblingPath(csv_path, ".png"),
                    "Forecast of the last " + std::to_string(holdout) + " rows")
        << "\n";
  }
  return model_errors;
}

}  // namespace lstmkit::cli
