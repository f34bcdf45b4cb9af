#include "forecast_data.h"

#include <cmath>
#include <stdexcept>

namespace lstmkit::cli {
namespace {

// Scales are floored so that a constant column does not divide by zero.
constexpr double kSmallestScale = 1e-8;

std::vector<double> Column(const CsvTable& table, int column, bool log) {
  std::vector<double> values(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    values[r] = NumberAt(table, r, column);
    if (log && !(values[r] > 0)) {
      throw std::runtime_error(table.PlaceOf(r, column) +
                               ColumnName(table, column) + ": " +
                               table.rows[r][column] +
                               " is not positive, and --log needs every "
                               "target value > 0");
    }
  }
  return values;
}

double Transformed(const ForecastSpec& spec, double value) {
  return spec.log ? std::log(value) : value;
}

}  // namespace

nlohmann::json ForecastSpec::ToJson() const {
  return {{"target", target}, {"features", features}, {"time", time},
          {"window", window}, {"horizon", horizon},   {"season", season},
          {"log", log},       {"relative", relative}, {"holdout", holdout},
          {"mean", mean},     {"scale", scale}};
}

ForecastSpec ForecastSpec::FromJson(const nlohmann::json& json,
                                    const std::string& path) {
  ForecastSpec spec;
  try {
    json.at("target").get_to(spec.target);
    json.at("features").get_to(spec.features);
    json.at("time").get_to(spec.time);
    json.at("window").get_to(spec.window);
    json.at("horizon").get_to(spec.horizon);
    json.at("season").get_to(spec.season);
    json.at("log").get_to(spec.log);
    json.at("relative").get_to(spec.relative);
    json.at("holdout").get_to(spec.holdout);
    json.at("mean").get_to(spec.mean);
    json.at("scale").get_to(spec.scale);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": the forecast settings are damaged (" +
                             e.what() + ")");
  }
  if (spec.window < 1 || spec.horizon < 1 || spec.season < 1 ||
      spec.mean.size() != static_cast<size_t>(spec.channels()) ||
      spec.scale.size() != spec.mean.size()) {
    throw std::runtime_error(path + ": the forecast settings are inconsistent");
  }
  return spec;
}

Series ReadSeries(const CsvTable& table, const ForecastSpec& spec) {
  Series series;
  series.target =
      Column(table, FindColumn(table, spec.target, "--target"), spec.log);
  for (const std::string& feature : spec.features) {
    series.features.push_back(
        Column(table, FindColumn(table, feature, "--features"), false));
  }
  const int time =
      spec.time.empty() ? -1 : FindColumn(table, spec.time, "--time");
  for (size_t r = 0; r < table.rows.size(); ++r) {
    series.times.push_back(time < 0 ? std::to_string(r + 1)
                                    : table.rows[r][time]);
  }
  return series;
}

void FitScaling(const Series& series, int rows, ForecastSpec* spec) {
  spec->mean.clear();
  spec->scale.clear();
  for (int channel = 0; channel < spec->channels(); ++channel) {
    double sum = 0, square_sum = 0;
    for (int r = 0; r < rows; ++r) {
      const double value = channel == 0 ? Transformed(*spec, series.target[r])
                                        : series.features[channel - 1][r];
      sum += value;
      square_sum += value * value;
    }
    const double mean = sum / rows;
    const double variance = std::max(0.0, square_sum / rows - mean * mean);
    spec->mean.push_back(mean);
    spec->scale.push_back(std::max(std::sqrt(variance), kSmallestScale));
  }
}

std::vector<float> ScaledChannels(const Series& series,
                                  const ForecastSpec& spec) {
  const int channels = spec.channels();
  std::vector<float> scaled(static_cast<size_t>(series.rows()) * channels);
  for (int r = 0; r < series.rows(); ++r) {
    for (int c = 0; c < channels; ++c) {
      const double value = c == 0 ? Transformed(spec, series.target[r])
                                  : series.features[c - 1][r];
      scaled[static_cast<size_t>(r) * channels + c] =
          static_cast<float>((value - spec.mean[c]) / spec.scale[c]);
    }
  }
  return scaled;
}

Dataset Windows(const std::vector<float>& channels, const ForecastSpec& spec,
                int first_origin, int last_origin) {
  const int width = spec.channels();
  Dataset data;
  data.num_samples = last_origin - first_origin + 1;
  data.seq_len = spec.window;
  for (int origin = first_origin; origin <= last_origin; ++origin) {
    const float level =
        spec.relative ? channels[static_cast<size_t>(origin) * width] : 0;
    for (int r = origin - spec.window + 1; r <= origin; ++r) {
      for (int c = 0; c < width; ++c) {
        const float value = channels[static_cast<size_t>(r) * width + c];
        data.inputs.push_back(c == 0 ? value - level : value);
      }
    }
    for (int step = 1; step <= spec.horizon; ++step) {
      data.targets.push_back(
          channels[static_cast<size_t>(origin + step) * width] - level);
    }
  }
  return data;
}

std::vector<double> Forecast(const Model& model,
                             const std::vector<float>& channels,
                             const ForecastSpec& spec, int origin) {
  const int width = spec.channels();
  const float level =
      spec.relative ? channels[static_cast<size_t>(origin) * width] : 0;
  std::vector<float> x;
  for (int r = origin - spec.window + 1; r <= origin; ++r) {
    for (int c = 0; c < width; ++c) {
      const float value = channels[static_cast<size_t>(r) * width + c];
      x.push_back(c == 0 ? value - level : value);
    }
  }
  Input input;
  input.seq_len = spec.window;
  input.batch = 1;
  input.x = x;
  const std::vector<float> y = model.Forward(input).y;
  std::vector<double> forecast;
  for (int step = 0; step < spec.horizon; ++step) {
    const double scaled = double{y[step]} + level;
    const double value = scaled * spec.scale[0] + spec.mean[0];
    forecast.push_back(spec.log ? std::exp(value) : value);
  }
  return forecast;
}

double SeasonalNaive(const std::vector<double>& target, int origin, int step,
                     int season) {
  const int seasons_back = (step + season - 1) / season;
  return target.at(origin + step - season * seasons_back);
}

HoldoutForecast ForecastHoldout(const Model& model, const Series& series,
                                const ForecastSpec& spec, int holdout) {
  const std::vector<float> channels = ScaledChannels(series, spec);
  const int rows = series.rows();
  HoldoutForecast result;
  for (int origin = rows - holdout - 1; origin < rows - 1;
       origin += spec.horizon) {
    const std::vector<double> forecast =
        Forecast(model, channels, spec, origin);
    for (int step = 1; step <= spec.horizon && origin + step < rows; ++step) {
      result.rows.push_back(origin + step);
      result.truth.push_back(series.target[origin + step]);
      result.forecast.push_back(forecast[step - 1]);
      result.baseline.push_back(
          SeasonalNaive(series.target, origin, step, spec.season));
    }
  }
  return result;
}

ErrorSummary Errors(const std::vector<double>& predicted,
                    const std::vector<double>& truth) {
  ErrorSummary summary;
  for (size_t i = 0; i < truth.size(); ++i) {
    const double error = predicted[i] - truth[i];
    summary.rmse += error * error;
    summary.mae += std::fabs(error);
  }
  if (!truth.empty()) {
    summary.rmse = std::sqrt(summary.rmse / truth.size());
    summary.mae /= truth.size();
  }
  return summary;
}

}  // namespace lstmkit::cli
