// Results as files: CSV always, PNG drawn by tools/plot.py with Debian's
// python3-matplotlib when it is installed.
#ifndef LSTMKIT_TOOLS_LSTMKIT_PLOTS_H_
#define LSTMKIT_TOOLS_LSTMKIT_PLOTS_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace lstmkit::cli {

struct LossPoint {
  int epoch = 0;
  double train = 0;
  double validation = 0;  // NaN without a validation set
};

// "epoch,train_loss,validation_loss" and a row per epoch.
std::string LossCurveCsv(const std::vector<LossPoint>& curve);
nlohmann::json LossCurveToJson(const std::vector<LossPoint>& curve);
std::vector<LossPoint> LossCurveFromJson(const nlohmann::json& json);

// Runs `python3 tools/plot.py KIND CSV PNG --title TITLE` and returns what
// to tell the user: "wrote PNG", or why no picture was drawn. The script is
// $LSTMKIT_PLOT_SCRIPT or the source tree's tools/plot.py, the interpreter
// $LSTMKIT_PYTHON or /usr/bin/python3 (Debian's, which has matplotlib).
std::string DrawPlot(const std::string& kind, const std::string& csv_path,
                     const std::string& png_path, const std::string& title);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_PLOTS_H_
