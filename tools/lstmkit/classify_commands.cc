#include "classify_commands.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "bench_case.h"
#include "classify_data.h"
#include "interrupt.h"
#include "supervised_training.h"
#include "training_flags.h"

namespace lstmkit::cli {
namespace {

constexpr char kTrainFooter[] = R"(
Each row is a label and a sequence: the rest of the row as numbers (one
value per time step), or one text field (one character per step). The
classes are the labels seen in --data. --validation of its rows, picked at
random with --seed, choose when to stop; --test, when given, is measured at
the end with accuracy and a confusion matrix.

Examples:
  lstmkit train classify --data data/waveforms_train.csv \
      --test data/waveforms_test.csv --model waveforms.lstm
  lstmkit train classify --data reviews.tsv --input text --max-length 200 \
      --model reviews.lstm)";

struct ClassifyFlags {
  TrainingFlags training;
  std::string data_path;
  std::string test_path;
  std::string header = "auto";
  std::string label_column = "1";
  std::string input = "auto";
  int max_length = 256;
  double validation = 0.2;
};

std::string Percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f %%", 100 * fraction);
  return text;
}

// Accuracy and the confusion matrix of a labelled dataset.
double ReportAccuracy(const Model& model, const Dataset& data,
                      const ClassifySpec& spec, const std::string& name,
                      std::ostream& out) {
  std::vector<int> predicted;
  std::vector<float> probabilities;
  Classify(model, data, &predicted, &probabilities);
  const size_t classes = spec.labels.size();
  std::vector<std::vector<int>> confusion(classes,
                                          std::vector<int>(classes, 0));
  int correct = 0;
  for (size_t n = 0; n < predicted.size(); ++n) {
    ++confusion[data.labels[n]][predicted[n]];
    correct += data.labels[n] == predicted[n];
  }
  const double accuracy = static_cast<double>(correct) / predicted.size();
  out << "\naccuracy on " << name << ": " << Percent(accuracy) << " ("
      << correct << " of " << predicted.size() << ")\n"
      << "confusion matrix (rows: true label, columns: predicted)\n";
  size_t width = 6;
  for (const std::string& label : spec.labels)
    width = std::max(width, label.size() + 1);
  const int w = static_cast<int>(width);
  char cell[64];
  std::snprintf(cell, sizeof(cell), "%*s", w, "");
  out << cell;
  for (const std::string& label : spec.labels) {
    std::snprintf(cell, sizeof(cell), " %*s", w, label.c_str());
    out << cell;
  }
  out << "\n";
  for (size_t t = 0; t < classes; ++t) {
    std::snprintf(cell, sizeof(cell), "%*s", w, spec.labels[t].c_str());
    out << cell;
    for (size_t p = 0; p < classes; ++p) {
      std::snprintf(cell, sizeof(cell), " %*d", w, confusion[t][p]);
      out << cell;
    }
    out << "\n";
  }
  return accuracy;
}

// Rows for validation and for training, split at random with the seed.
void SplitRows(size_t rows, double validation, uint64_t seed,
               std::vector<size_t>* train, std::vector<size_t>* held_out) {
  std::vector<size_t> order(rows);
  std::iota(order.begin(), order.end(), size_t{0});
  uint64_t state = seed;
  for (size_t i = rows - 1; i > 0; --i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    std::swap(order[i], order[(state >> 33) % (i + 1)]);
  }
  const size_t count = static_cast<size_t>(rows * validation);
  held_out->assign(order.begin(), order.begin() + count);
  train->assign(order.begin() + count, order.end());
  std::sort(held_out->begin(), held_out->end());
  std::sort(train->begin(), train->end());
}

int RunTrainClassify(ClassifyFlags& flags, CommandIo& io) {
  ValidateTrainingFlags(&flags.training);
  if (!(flags.validation >= 0 && flags.validation < 1)) {
    throw UsageError("--validation must be a fraction in [0, 1)");
  }
  if (flags.max_length < 1) throw UsageError("--max-length must be at least 1");
  const HeaderMode header = ParseHeaderFlag(flags.header);
  const CsvTable table = ReadCsvFile(flags.data_path, header);
  const ClassifySpec spec =
      FitClassifySpec(table, flags.label_column, flags.input, flags.max_length);
  bool labelled = false;
  const ClassifyRows rows = ReadClassifyRows(table, spec, &labelled);
  std::vector<size_t> train_rows, validation_rows;
  SplitRows(rows.size(), flags.validation, flags.training.seed, &train_rows,
            &validation_rows);
  if (train_rows.empty())
    throw UsageError("--validation leaves no rows to train on");
  const Dataset train = EncodeRows(rows, spec, train_rows);
  const Dataset validation = validation_rows.empty()
                                 ? Dataset()
                                 : EncodeRows(rows, spec, validation_rows);
  io.out << "classifying "
         << (spec.kind == SequenceKind::kText ? "texts" : "sequences") << " of "
         << flags.data_path << ": " << rows.size() << " rows, "
         << spec.labels.size() << " classes, " << spec.length << " steps each\n"
         << "  train       " << train.num_samples << " rows\n";
  if (!validation_rows.empty()) {
    io.out << "  validation  " << validation.num_samples
           << " rows (chosen at random)\n";
  }
  io.out << std::flush;

  const ModelConfig config = ModelConfigFromFlags(
      flags.training, spec.input_size(), static_cast<int>(spec.labels.size()),
      OutputActivation::kSoftmax, OutputSteps::kLastStep);
  Model model(config, InitOptions{flags.training.seed});
  SupervisedJob job;
  job.task = Task::kClassify;
  job.settings = spec.ToJson();
  job.train = &train;
  job.validation = validation_rows.empty() ? nullptr : &validation;
  job.loss = LossKind::kCrossEntropy;
  const TrainingOutcome outcome =
      TrainSupervised(&model, job, flags.training, io);
  if (outcome.interrupted) return kExitInterrupted;
  io.out << "\n"
         << outcome.stop_reason << "; kept the model of epoch "
         << outcome.best_epoch << ", saved to " << flags.training.model_path
         << "\n";
  WriteLossCurve(outcome.curve, flags.training, "Cross-entropy loss", io);
  if (!flags.test_path.empty()) {
    const CsvTable test_table = ReadCsvFile(flags.test_path, header);
    bool test_labelled = false;
    const ClassifyRows test =
        ReadClassifyRows(test_table, spec, &test_labelled);
    if (!test_labelled) {
      throw std::runtime_error(flags.test_path + ": --test rows need labels");
    }
    ReportAccuracy(model, EncodeRows(test, spec, {}), spec, flags.test_path,
                   io.out);
  } else if (!validation_rows.empty()) {
    ReportAccuracy(model, validation, spec, "the validation rows", io.out);
  }
  return kExitOk;
}

ClassifyRows ReadForModel(const ClassifySpec& spec, const UseFlags& flags,
                          bool* labelled) {
  const CsvTable table =
      ReadCsvFile(flags.data_path, ParseHeaderFlag(flags.header));
  return ReadClassifyRows(table, spec, labelled);
}

}  // namespace

Command AddTrainClassifyCommand(CLI::App* train) {
  CLI::App* app = train->add_subcommand(
      "classify", "Train a classifier of sequences or texts from CSV/TSV rows");
  auto flags = std::make_shared<ClassifyFlags>();
  flags->training.hidden = 32;
  flags->training.epochs = 100;
  flags->training.batch = 32;
  flags->training.learning_rate = 0.01f;
  flags->training.patience = 25;
  app->add_option("--data", flags->data_path, "the training rows (CSV or TSV)")
      ->required();
  app->add_option("--test", flags->test_path,
                  "labelled rows to measure at the end");
  app->add_option("--label", flags->label_column,
                  "the label column, by name or number")
      ->capture_default_str();
  app->add_option("--input", flags->input, "auto, numeric or text")
      ->capture_default_str();
  app->add_option("--max-length", flags->max_length,
                  "text: characters read per row (the rest is cut)")
      ->capture_default_str();
  app->add_option("--validation", flags->validation,
                  "the fraction of rows held out for early stopping")
      ->capture_default_str();
  app->add_option("--header", flags->header, "auto, yes or no")
      ->capture_default_str();
  AddTrainingFlags(app, &flags->training);
  AddBidirectionalFlag(app, &flags->training);
  app->footer(kTrainFooter);
  return {app, [flags](CommandIo& io) { return RunTrainClassify(*flags, io); }};
}

int EvalClassify(const TaskModel& model, const UseFlags& flags, CommandIo& io) {
  const ClassifySpec spec =
      ClassifySpec::FromJson(model.settings, flags.model_path);
  bool labelled = false;
  const ClassifyRows rows = ReadForModel(spec, flags, &labelled);
  if (!labelled) {
    throw std::runtime_error(flags.data_path +
                             ": eval needs labelled rows (use predict for "
                             "unlabelled ones)");
  }
  ReportAccuracy(model.model, EncodeRows(rows, spec, {}), spec, flags.data_path,
                 io.out);
  return kExitOk;
}

int PredictClassify(const TaskModel& model, const UseFlags& flags,
                    CommandIo& io) {
  const ClassifySpec spec =
      ClassifySpec::FromJson(model.settings, flags.model_path);
  bool labelled = false;
  ClassifyRows rows = ReadForModel(spec, flags, &labelled);
  rows.classes.clear();
  std::vector<int> predicted;
  std::vector<float> probabilities;
  Classify(model.model, EncodeRows(rows, spec, {}), &predicted, &probabilities);
  io.out << "row,label,probability\n";
  for (size_t n = 0; n < predicted.size(); ++n) {
    char probability[32];
    std::snprintf(probability, sizeof(probability), "%.4f", probabilities[n]);
    io.out << n + 1 << "," << spec.labels[predicted[n]] << "," << probability
           << "\n";
  }
  return kExitOk;
}

}  // namespace lstmkit::cli
