// A model file made by `lstmkit train`: the network plus what its task needs
// to use it again (normalization, vocabulary, labels, window sizes), stored
// as JSON in the file's metadata, so that one file is all `eval`, `predict`
// and `generate` need.
#ifndef LSTMKIT_TOOLS_LSTMKIT_TASK_MODEL_H_
#define LSTMKIT_TOOLS_LSTMKIT_TASK_MODEL_H_

#include <string>

#include "lstmkit/lstmkit.hpp"
#include "nlohmann/json.hpp"

namespace lstmkit::cli {

enum class Task { kForecast, kCharLm, kClassify };

// "forecast", "charlm", "classify": the names of `lstmkit train <task>`.
const char* TaskName(Task task);

// The metadata keys; "lstmkit." is the library's.
inline constexpr char kTaskKey[] = "task";
inline constexpr char kSettingsKey[] = "task_settings";

FileMetadata TaskMetadata(Task task, const nlohmann::json& settings);

// Saves atomically (a crash leaves the previous file).
void SaveTaskModel(const Model& model, Task task,
                   const nlohmann::json& settings, const std::string& path);

// Saves `model` with `parameters` in place of its own (the best ones of a
// run, kept in memory while training goes on).
void SaveTaskModelWith(const Model& model, Span<const float> parameters,
                       Task task, const nlohmann::json& settings,
                       const std::string& path);

struct TaskModel {
  Model model;
  Task task;
  nlohmann::json settings;
};

// Loads a model file and checks that it was made for `wanted`. A model for
// another task, or one without a task (such as a PyTorch export), throws a
// one-line error that names the file, both tasks and `command`.
TaskModel LoadTaskModel(const std::string& path, Task wanted,
                        const std::string& command);
// The same for commands that serve several tasks: the file's own task.
TaskModel LoadAnyTaskModel(const std::string& path, const std::string& command);

// A setting of a loaded model, with an error naming the file when it is
// missing or of the wrong type (a hand-edited or damaged file).
template <typename T>
T Setting(const TaskModel& model, const char* key, const std::string& path);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_TASK_MODEL_H_
