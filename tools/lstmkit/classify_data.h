// Sequence classification data: CSV/TSV rows of a label and either a
// numeric sequence (the remaining fields) or a text (one field), turned
// into equal-length sequences the Trainer can batch.
#ifndef LSTMKIT_TOOLS_LSTMKIT_CLASSIFY_DATA_H_
#define LSTMKIT_TOOLS_LSTMKIT_CLASSIFY_DATA_H_

#include <string>
#include <vector>

#include "csv_table.h"
#include "lstmkit/lstmkit.hpp"
#include "nlohmann/json.hpp"
#include "vocabulary.h"

namespace lstmkit::cli {

enum class SequenceKind { kNumeric, kText };

// What a classifier reads; saved in its model file.
struct ClassifySpec {
  SequenceKind kind = SequenceKind::kNumeric;
  std::string label_column;         // name or number from 1
  std::vector<std::string> labels;  // class names, sorted
  int length = 0;                   // T: values, or characters (padded)
  double mean = 0, scale = 1;       // numeric values are standardized
  Vocabulary vocabulary;            // text: the training characters

  int input_size() const {
    return kind == SequenceKind::kText ? vocabulary.size() : 1;
  }
  nlohmann::json ToJson() const;
  static ClassifySpec FromJson(const nlohmann::json& json,
                               const std::string& path);
};

// The rows of a file, before they are encoded.
struct ClassifyRows {
  std::vector<int32_t> classes;              // empty when unlabelled
  std::vector<std::vector<double>> numbers;  // numeric rows
  std::vector<std::u32string> texts;         // text rows
  size_t size() const { return numbers.size() + texts.size(); }
};

// Reads a file laid out as the spec says. `labelled`: the label column is
// there (training, eval); predict accepts files with or without it.
// Errors name the file, line and column.
ClassifyRows ReadClassifyRows(const CsvTable& table, const ClassifySpec& spec,
                              bool* labelled);

// Fits the spec to training rows: kind (when `kind` is "auto"), labels,
// length (text: the longest, at most max_length), scaling, vocabulary.
ClassifySpec FitClassifySpec(const CsvTable& table,
                             const std::string& label_column,
                             const std::string& kind, int max_length);

// A Dataset of the given rows (all when `order` is empty), with labels
// when the rows have them. Texts are cut to T characters and padded with
// zero vectors at the front, so that the last step sees the end of each.
Dataset EncodeRows(const ClassifyRows& rows, const ClassifySpec& spec,
                   const std::vector<size_t>& order);

// The predicted class of each sample, and its probability.
void Classify(const Model& model, const Dataset& data,
              std::vector<int>* classes, std::vector<float>* probabilities);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CLASSIFY_DATA_H_
