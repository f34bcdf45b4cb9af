#include "plots.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

extern char** environ;

namespace lstmkit::cli {
namespace {

std::string EnvironmentOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string Number(double value) {
  if (std::isnan(value)) return "";
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

// Runs argv[0] with the arguments and waits; returns its exit status, or -1
// when it could not start or did not exit normally.
int RunProgram(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& arg : args)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
    return -1;
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

std::string LossCurveCsv(const std::vector<LossPoint>& curve) {
  std::string csv = "epoch,train_loss,validation_loss\n";
  for (const LossPoint& point : curve) {
    csv += std::to_string(point.epoch) + "," + Number(point.train) + "," +
           Number(point.validation) + "\n";
  }
  return csv;
}

nlohmann::json LossCurveToJson(const std::vector<LossPoint>& curve) {
  nlohmann::json json = nlohmann::json::array();
  for (const LossPoint& point : curve) {
    json.push_back({point.epoch, point.train,
                    std::isnan(point.validation)
                        ? nlohmann::json()
                        : nlohmann::json(point.validation)});
  }
  return json;
}

std::vector<LossPoint> LossCurveFromJson(const nlohmann::json& json) {
  std::vector<LossPoint> curve;
  for (const nlohmann::json& entry : json) {
    LossPoint point;
    point.epoch = entry.at(0).get<int>();
    point.train = entry.at(1).get<double>();
    point.validation = entry.at(2).is_null()
                           ? std::numeric_limits<double>::quiet_NaN()
                           : entry.at(2).get<double>();
    curve.push_back(point);
  }
  return curve;
}

std::string DrawPlot(const std::string& kind, const std::string& csv_path,
                     const std::string& png_path, const std::string& title) {
  const std::string python =
      EnvironmentOr("LSTMKIT_PYTHON", "/usr/bin/python3");
  const std::string script =
      EnvironmentOr("LSTMKIT_PLOT_SCRIPT", LSTMKIT_PLOT_SCRIPT_DEFAULT);
  if (access(python.c_str(), X_OK) != 0) {
    return "no plot: " + python + " not found (the CSV has the numbers)";
  }
  if (access(script.c_str(), R_OK) != 0) {
    return "no plot: " + script + " not found (set LSTMKIT_PLOT_SCRIPT)";
  }
  const int status =
      RunProgram({python, script, kind, csv_path, png_path, "--title", title});
  if (status == 0) return "wrote " + png_path;
  if (status == 3) {
    return "no plot: matplotlib is missing (apt-get install "
           "python3-matplotlib)";
  }
  return "no plot: tools/plot.py failed (exit status " +
         std::to_string(status) + ")";
}

}  // namespace lstmkit::cli
