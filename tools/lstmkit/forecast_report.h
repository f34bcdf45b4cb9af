// How a forecaster did on held-out rows: a table of forecasts beside the
// truth and the seasonal-naive baseline, RMSE and MAE of both, and the same
// as CSV (and a PNG) for a closer look.
#ifndef LSTMKIT_TOOLS_LSTMKIT_FORECAST_REPORT_H_
#define LSTMKIT_TOOLS_LSTMKIT_FORECAST_REPORT_H_

#include <ostream>
#include <string>

#include "forecast_data.h"

namespace lstmkit::cli {

// Prints the table and the errors to `out`; writes `csv_path` (every row of
// the series, with forecast and baseline on the held-out ones) and, with
// `plot`, the PNG beside it. Returns the forecast's errors.
ErrorSummary ReportHoldout(const Model& model, const Series& series,
                           const ForecastSpec& spec, int holdout,
                           const std::string& csv_path, bool plot,
                           std::ostream& out);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_FORECAST_REPORT_H_
