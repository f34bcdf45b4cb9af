#include "classify_data.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "bench_case.h"
#include "utf8.h"

namespace lstmkit::cli {
namespace {

constexpr int kPredictBatch = 256;

const char* KindName(SequenceKind kind) {
  return kind == SequenceKind::kText ? "text" : "numeric";
}

std::string Trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

std::u32string TextAt(const CsvTable& table, size_t row, int column) {
  try {
    return DecodeUtf8(table.rows[row][column], "text");
  } catch (const std::runtime_error&) {
    throw std::runtime_error(table.PlaceOf(row, column) +
                             "the text is not valid UTF-8");
  }
}

// The columns that hold the sequence: all but the label's, when present.
std::vector<int> ValueColumns(const CsvTable& table, int label) {
  std::vector<int> columns;
  for (int c = 0; c < table.num_columns(); ++c) {
    if (c != label) columns.push_back(c);
  }
  return columns;
}

int ClassOf(const CsvTable& table, size_t row, int column,
            const std::vector<std::string>& labels) {
  const std::string label = Trim(table.rows[row][column]);
  const auto found = std::find(labels.begin(), labels.end(), label);
  if (found == labels.end()) {
    std::string known;
    for (const std::string& l : labels)
      known += (known.empty() ? "" : ", ") + l;
    throw std::runtime_error(table.PlaceOf(row, column) + "label '" + label +
                             "' is not one the model knows (" + known + ")");
  }
  return static_cast<int>(found - labels.begin());
}

}  // namespace

nlohmann::json ClassifySpec::ToJson() const {
  nlohmann::json json = {{"input", KindName(kind)},
                         {"label_column", label_column},
                         {"labels", labels},
                         {"length", length},
                         {"mean", mean},
                         {"scale", scale}};
  if (kind == SequenceKind::kText) json["vocabulary"] = vocabulary.ToJson();
  return json;
}

ClassifySpec ClassifySpec::FromJson(const nlohmann::json& json,
                                    const std::string& path) {
  ClassifySpec spec;
  try {
    spec.kind = json.at("input").get<std::string>() == "text"
                    ? SequenceKind::kText
                    : SequenceKind::kNumeric;
    json.at("label_column").get_to(spec.label_column);
    json.at("labels").get_to(spec.labels);
    json.at("length").get_to(spec.length);
    json.at("mean").get_to(spec.mean);
    json.at("scale").get_to(spec.scale);
    if (spec.kind == SequenceKind::kText) {
      spec.vocabulary = Vocabulary::FromJson(json.at("vocabulary"));
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(
        path + ": the classifier's settings are damaged (" + e.what() + ")");
  }
  if (spec.labels.size() < 2 || spec.length < 1) {
    throw std::runtime_error(path +
                             ": the classifier's settings are inconsistent");
  }
  return spec;
}

ClassifySpec FitClassifySpec(const CsvTable& table,
                             const std::string& label_column,
                             const std::string& kind, int max_length) {
  ClassifySpec spec;
  const int label = FindColumn(table, label_column, "--label");
  spec.label_column =
      table.header.empty() ? std::to_string(label + 1) : table.header[label];
  const std::vector<int> values = ValueColumns(table, label);
  if (values.empty()) {
    throw std::runtime_error(table.path +
                             ": rows need a sequence after the label");
  }
  if (kind == "auto") {
    const bool text = values.size() == 1 && !IsNumber(table.rows[0][values[0]]);
    spec.kind = text ? SequenceKind::kText : SequenceKind::kNumeric;
  } else if (kind == "text" || kind == "numeric") {
    spec.kind = kind == "text" ? SequenceKind::kText : SequenceKind::kNumeric;
  } else {
    throw UsageError("--input must be auto, numeric or text, got '" + kind +
                     "'");
  }
  if (spec.kind == SequenceKind::kText && values.size() != 1) {
    throw UsageError("--input text needs rows of a label and one text field; " +
                     table.path + " has " + std::to_string(values.size() + 1) +
                     " fields per row");
  }
  std::set<std::string> labels;
  for (size_t r = 0; r < table.rows.size(); ++r)
    labels.insert(Trim(table.rows[r][label]));
  spec.labels.assign(labels.begin(), labels.end());
  if (spec.labels.size() < 2) {
    throw std::runtime_error(table.path + ": every row has the label '" +
                             spec.labels.front() +
                             "'; classes need two at least");
  }
  if (spec.kind == SequenceKind::kNumeric) {
    spec.length = static_cast<int>(values.size());
    double sum = 0, square_sum = 0;
    for (size_t r = 0; r < table.rows.size(); ++r) {
      for (int c : values) {
        const double v = NumberAt(table, r, c);
        sum += v;
        square_sum += v * v;
      }
    }
    const double count = static_cast<double>(table.rows.size() * values.size());
    spec.mean = sum / count;
    spec.scale = std::max(
        1e-8,
        std::sqrt(std::max(0.0, square_sum / count - spec.mean * spec.mean)));
  } else {
    std::u32string all;
    size_t longest = 1;
    for (size_t r = 0; r < table.rows.size(); ++r) {
      const std::u32string text = TextAt(table, r, values[0]);
      longest = std::max(longest, text.size());
      all += text;
    }
    spec.vocabulary = Vocabulary::FromText(all.empty() ? U" " : all);
    spec.length = static_cast<int>(std::min<size_t>(longest, max_length));
  }
  return spec;
}

ClassifyRows ReadClassifyRows(const CsvTable& table, const ClassifySpec& spec,
                              bool* labelled) {
  const int width = spec.kind == SequenceKind::kText ? 1 : spec.length;
  *labelled = table.num_columns() == width + 1;
  if (!*labelled && table.num_columns() != width) {
    throw std::runtime_error(table.path + ": rows have " +
                             std::to_string(table.num_columns()) +
                             " fields; the model reads a label and " +
                             (spec.kind == SequenceKind::kText
                                  ? std::string("one text")
                                  : std::to_string(width) + " numbers") +
                             " (" + std::to_string(width + 1) +
                             " fields), or the same without the label");
  }
  const int label =
      *labelled ? FindColumn(table, spec.label_column, "--label") : -1;
  const std::vector<int> values = ValueColumns(table, label);
  ClassifyRows rows;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    if (label >= 0)
      rows.classes.push_back(ClassOf(table, r, label, spec.labels));
    if (spec.kind == SequenceKind::kText) {
      rows.texts.push_back(TextAt(table, r, values[0]));
      continue;
    }
    std::vector<double> sequence;
    for (int c : values) sequence.push_back(NumberAt(table, r, c));
    rows.numbers.push_back(std::move(sequence));
  }
  return rows;
}

Dataset EncodeRows(const ClassifyRows& rows, const ClassifySpec& spec,
                   const std::vector<size_t>& order) {
  std::vector<size_t> picked = order;
  if (picked.empty()) {
    for (size_t i = 0; i < rows.size(); ++i) picked.push_back(i);
  }
  const int width = spec.input_size();
  Dataset data;
  data.num_samples = static_cast<int>(picked.size());
  data.seq_len = spec.length;
  data.inputs.assign(picked.size() * spec.length * width, 0.0f);
  for (size_t n = 0; n < picked.size(); ++n) {
    float* sample = data.inputs.data() + n * spec.length * width;
    if (spec.kind == SequenceKind::kNumeric) {
      const std::vector<double>& values = rows.numbers[picked[n]];
      for (int t = 0; t < spec.length; ++t) {
        sample[t] = static_cast<float>((values[t] - spec.mean) / spec.scale);
      }
    } else {
      const std::u32string& text = rows.texts[picked[n]];
      const int used =
          std::min<int>(spec.length, static_cast<int>(text.size()));
      const int padding = spec.length - used;
      for (int t = 0; t < used; ++t) {
        const int id = spec.vocabulary.IdOf(text[t]);
        // A character never seen in training reads as padding.
        if (id >= 0)
          sample[static_cast<size_t>(padding + t) * width + id] = 1.0f;
      }
    }
    if (!rows.classes.empty()) data.labels.push_back(rows.classes[picked[n]]);
  }
  return data;
}

void Classify(const Model& model, const Dataset& data,
              std::vector<int>* classes, std::vector<float>* probabilities) {
  const int width = model.config().input_size;
  const int num_classes = model.output_width();
  classes->clear();
  probabilities->clear();
  std::vector<float> x;
  for (int first = 0; first < data.num_samples; first += kPredictBatch) {
    const int batch = std::min(kPredictBatch, data.num_samples - first);
    x.assign(static_cast<size_t>(data.seq_len) * batch * width, 0.0f);
    for (int b = 0; b < batch; ++b) {
      for (int t = 0; t < data.seq_len; ++t) {
        std::copy_n(
            data.inputs.data() +
                (static_cast<size_t>(first + b) * data.seq_len + t) * width,
            width, x.data() + (static_cast<size_t>(t) * batch + b) * width);
      }
    }
    Input input;
    input.seq_len = data.seq_len;
    input.batch = batch;
    input.x = x;
    const std::vector<float> y = model.Forward(input).y;
    for (int b = 0; b < batch; ++b) {
      const float* row = y.data() + static_cast<size_t>(b) * num_classes;
      const int best =
          static_cast<int>(std::max_element(row, row + num_classes) - row);
      classes->push_back(best);
      probabilities->push_back(row[best]);
    }
  }
}

}  // namespace lstmkit::cli
