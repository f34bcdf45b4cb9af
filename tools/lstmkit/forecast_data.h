// Time series for forecasting: the columns a model reads, their scaling,
// sliding windows over them, forecasts in the data's own units and the
// seasonal-naive baseline they are judged against.
#ifndef LSTMKIT_TOOLS_LSTMKIT_FORECAST_DATA_H_
#define LSTMKIT_TOOLS_LSTMKIT_FORECAST_DATA_H_

#include <string>
#include <vector>

#include "csv_table.h"
#include "lstmkit/lstmkit.hpp"
#include "nlohmann/json.hpp"

namespace lstmkit::cli {

// What a forecaster reads and predicts; saved in its model file.
struct ForecastSpec {
  std::string target;                 // column name, or number from 1
  std::vector<std::string> features;  // extra input columns
  std::string time;                   // column of labels; empty: row numbers
  int window = 24;                    // rows the model reads
  int horizon = 1;                    // rows it forecasts at once
  int season = 1;                     // of the seasonal-naive baseline
  bool log = false;                   // model log(target)
  // Inputs and outputs relative to the window's last target value, so that
  // a level never seen in training (a trend) is no harder than one seen.
  bool relative = true;
  int holdout = 0;           // rows at the end kept for testing
  std::vector<double> mean;  // per channel: target, then features
  std::vector<double> scale;

  nlohmann::json ToJson() const;
  static ForecastSpec FromJson(const nlohmann::json& json,
                               const std::string& path);
  int channels() const { return 1 + static_cast<int>(features.size()); }
};

struct Series {
  std::vector<double> target;                 // in the data's units
  std::vector<std::vector<double>> features;  // [feature][row]
  std::vector<std::string> times;             // a label per row
  int rows() const { return static_cast<int>(target.size()); }
};

// The spec's columns of a table. Throws "PATH:LINE:COLUMN: ..." for a value
// that is blank, not a number or (with log) not positive.
Series ReadSeries(const CsvTable& table, const ForecastSpec& spec);

// Sets spec->mean and spec->scale from the first `rows` rows.
void FitScaling(const Series& series, int rows, ForecastSpec* spec);

// The model's view of the series: [row][channel], scaled.
std::vector<float> ScaledChannels(const Series& series,
                                  const ForecastSpec& spec);

// Windows whose last input row ("origin") runs from first_origin to
// last_origin inclusive; each has `horizon` targets after it.
Dataset Windows(const std::vector<float>& channels, const ForecastSpec& spec,
                int first_origin, int last_origin);

// The model's forecast of rows origin+1 .. origin+horizon, in data units.
std::vector<double> Forecast(const Model& model,
                             const std::vector<float>& channels,
                             const ForecastSpec& spec, int origin);

// The value one season before row origin + step, in the past of origin.
double SeasonalNaive(const std::vector<double>& target, int origin, int step,
                     int season);

// Forecasts of the last `holdout` rows: from the row before them, `horizon`
// rows at a time, so that every row is forecast once, 1 to horizon steps
// ahead, from data before it only.
struct HoldoutForecast {
  std::vector<int> rows;
  std::vector<double> truth, forecast, baseline;
};
HoldoutForecast ForecastHoldout(const Model& model, const Series& series,
                                const ForecastSpec& spec, int holdout);

struct ErrorSummary {
  double rmse = 0;
  double mae = 0;
};
ErrorSummary Errors(const std::vector<double>& predicted,
                    const std::vector<double>& truth);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_FORECAST_DATA_H_
