#include "task_model.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace lstmkit::cli {
namespace {

bool ParseTask(const std::string& name, Task* task) {
  for (Task t : {Task::kForecast, Task::kCharLm, Task::kClassify}) {
    if (name == TaskName(t)) {
      *task = t;
      return true;
    }
  }
  return false;
}

}  // namespace

const char* TaskName(Task task) {
  switch (task) {
    case Task::kForecast:
      return "forecast";
    case Task::kCharLm:
      return "charlm";
    case Task::kClassify:
      return "classify";
  }
  return "?";
}

FileMetadata TaskMetadata(Task task, const nlohmann::json& settings) {
  return {{kTaskKey, TaskName(task)}, {kSettingsKey, settings.dump()}};
}

void SaveTaskModel(const Model& model, Task task,
                   const nlohmann::json& settings, const std::string& path) {
  SaveOptions options;
  options.metadata = TaskMetadata(task, settings);
  SaveModel(model, path, options);
}

void SaveTaskModelWith(const Model& model, Span<const float> parameters,
                       Task task, const nlohmann::json& settings,
                       const std::string& path) {
  Model copy = model;
  std::copy(parameters.begin(), parameters.end(), copy.parameters().begin());
  copy.parameters_changed();
  SaveTaskModel(copy, task, settings, path);
}

TaskModel LoadAnyTaskModel(const std::string& path,
                           const std::string& command) {
  FileMetadata metadata;
  Model model = LoadModel(path, &metadata);
  Task task = Task::kForecast;
  const auto name = metadata.find(kTaskKey);
  if (name == metadata.end() || !ParseTask(name->second, &task)) {
    throw std::runtime_error(
        path +
        ": not a model made by 'lstmkit train' (its metadata names no "
        "task), so '" +
        command + "' cannot use it");
  }
  const auto settings = metadata.find(kSettingsKey);
  nlohmann::json json;
  if (settings != metadata.end()) {
    json = nlohmann::json::parse(settings->second, nullptr, false);
  }
  if (!json.is_object()) {
    throw std::runtime_error(path + ": the " + name->second +
                             " model's settings are missing or damaged");
  }
  return {std::move(model), task, std::move(json)};
}

TaskModel LoadTaskModel(const std::string& path, Task wanted,
                        const std::string& command) {
  TaskModel loaded = LoadAnyTaskModel(path, command);
  if (loaded.task != wanted) {
    throw std::runtime_error(path + " is a " + TaskName(loaded.task) +
                             " model; '" + command + "' needs a " +
                             TaskName(wanted) + " model (lstmkit train " +
                             TaskName(wanted) + ")");
  }
  return loaded;
}

template <typename T>
T Setting(const TaskModel& model, const char* key, const std::string& path) {
  const auto found = model.settings.find(key);
  if (found != model.settings.end()) {
    try {
      return found->template get<T>();
    } catch (const nlohmann::json::exception&) {
      // reported below
    }
  }
  throw std::runtime_error(path + ": the model's setting '" + key +
                           "' is missing or has the wrong type");
}

template int Setting<int>(const TaskModel&, const char*, const std::string&);
template bool Setting<bool>(const TaskModel&, const char*, const std::string&);
template double Setting<double>(const TaskModel&, const char*,
                                const std::string&);
template std::string Setting<std::string>(const TaskModel&, const char*,
                                          const std::string&);
template std::vector<double> Setting<std::vector<double>>(const TaskModel&,
                                                          const char*,
                                                          const std::string&);
template std::vector<std::string> Setting<std::vector<std::string>>(
    const TaskModel&, const char*, const std::string&);
template nlohmann::json Setting<nlohmann::json>(const TaskModel&, const char*,
                                                const std::string&);

}  // namespace lstmkit::cli
