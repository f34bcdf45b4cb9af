#include "csv_table.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "bench_case.h"
#include "input_file.h"

namespace lstmkit::cli {
namespace {

char GuessDelimiter(const std::string& text) {
  const std::string first_line = text.substr(0, text.find('\n'));
  for (char candidate : {'\t', ',', ';'}) {
    if (first_line.find(candidate) != std::string::npos) return candidate;
  }
  return ',';
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// Splits text into rows of fields, tracking lines and columns.
class CsvScanner {
 public:
  CsvScanner(const std::string& text, const std::string& path, char delimiter)
      : text_(text), path_(path), delimiter_(delimiter) {}

  void Scan(std::vector<std::vector<std::string>>* rows,
            std::vector<std::vector<FieldPlace>>* places) {
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // a UTF-8 BOM
    while (pos_ < text_.size()) {
      std::vector<std::string> row;
      std::vector<FieldPlace> row_places;
      ScanRow(&row, &row_places);
      const bool blank = row.size() == 1 && Trimmed(row[0]).empty();
      if (!blank) {
        rows->push_back(std::move(row));
        places->push_back(std::move(row_places));
      }
    }
  }

 private:
  [[noreturn]] void Fail(int line, int column, const std::string& what) {
    throw std::runtime_error(Place(path_, line, column) + what);
  }

  void ScanRow(std::vector<std::string>* row, std::vector<FieldPlace>* places) {
    for (;;) {
      places->push_back({line_, column()});
      row->push_back(ScanField());
      if (pos_ >= text_.size()) return;
      const char c = text_[pos_++];
      if (c == '\n') {
        NewLine();
        return;
      }
      // ScanField stops only at a delimiter, a line break or the end.
    }
  }

  std::string ScanField() {
    size_t start = pos_;
    while (start < text_.size() && text_[start] == ' ') ++start;
    if (start < text_.size() && text_[start] == '"') {
      pos_ = start;
      return ScanQuoted();
    }
    std::string field;
    while (pos_ < text_.size() && text_[pos_] != delimiter_ &&
           text_[pos_] != '\n') {
      if (text_[pos_] == '"') {
        Fail(line_, column(),
             "stray '\"' inside an unquoted field (quote the whole field and "
             "write a quote inside it as \"\")");
      }
      field += text_[pos_++];
    }
    if (!field.empty() && field.back() == '\r') field.pop_back();
    return field;
  }

  std::string ScanQuoted() {
    const int open_line = line_, open_column = column();
    ++pos_;
    std::string field;
    for (;;) {
      if (pos_ >= text_.size()) {
        Fail(open_line, open_column, "quoted field is never closed");
      }
      const char c = text_[pos_++];
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field += '"';
          ++pos_;
          continue;
        }
        break;
      }
      field += c;
      if (c == '\n') NewLine();
    }
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\r'))
      ++pos_;
    if (pos_ < text_.size() && text_[pos_] != delimiter_ &&
        text_[pos_] != '\n') {
      Fail(line_, column(), "unexpected text after a closing quote");
    }
    return field;
  }

  void NewLine() {
    ++line_;
    line_start_ = pos_;
  }
  int column() const { return static_cast<int>(pos_ - line_start_) + 1; }

  const std::string& text_;
  const std::string& path_;
  const char delimiter_;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  int line_ = 1;
};

void RequireRectangular(const CsvTable& table) {
  if (table.rows.empty()) return;
  const size_t width = table.rows[0].size();
  for (size_t r = 1; r < table.rows.size(); ++r) {
    const std::vector<std::string>& row = table.rows[r];
    if (row.size() == width) continue;
    const FieldPlace& place =
        row.size() > width ? table.places[r][width] : table.places[r].back();
    throw std::runtime_error(Place(table.path, place.line, place.column) +
                             "expected " + std::to_string(width) +
                             " fields, as on line " +
                             std::to_string(table.places[0][0].line) +
                             ", found " + std::to_string(row.size()));
  }
}

bool LooksLikeHeader(const CsvTable& table) {
  if (table.rows.size() < 2) return false;
  for (size_t c = 0; c < table.rows[0].size(); ++c) {
    if (!IsNumber(table.rows[0][c]) && IsNumber(table.rows[1][c])) return true;
  }
  return false;
}

}  // namespace

int CsvTable::num_columns() const {
  if (!header.empty()) return static_cast<int>(header.size());
  return rows.empty() ? 0 : static_cast<int>(rows[0].size());
}

std::string CsvTable::PlaceOf(size_t row, int column) const {
  const FieldPlace& place = places.at(row).at(column);
  return Place(path, place.line, place.column);
}

CsvTable ParseCsv(const std::string& text, const std::string& path,
                  HeaderMode header, char delimiter) {
  CsvTable table;
  table.path = path;
  table.delimiter = delimiter != 0 ? delimiter : GuessDelimiter(text);
  CsvScanner(text, path, table.delimiter).Scan(&table.rows, &table.places);
  if (table.rows.empty()) {
    throw std::runtime_error(path +
                             ": no rows (the file has only blank lines)");
  }
  RequireRectangular(table);
  const bool has_header =
      header == HeaderMode::kPresent ||
      (header == HeaderMode::kAuto && LooksLikeHeader(table));
  if (has_header) {
    table.header = table.rows.front();
    for (std::string& name : table.header) name = Trimmed(name);
    table.rows.erase(table.rows.begin());
    table.places.erase(table.places.begin());
    if (table.rows.empty()) {
      throw std::runtime_error(path + ": a header and no data rows");
    }
  }
  return table;
}

CsvTable ReadCsvFile(const std::string& path, HeaderMode header) {
  const bool tabs = EndsWith(path, ".tsv") || EndsWith(path, ".tab");
  return ParseCsv(ReadInputFile(path), path, header, tabs ? '\t' : 0);
}

int FindColumn(const CsvTable& table, const std::string& name,
               const std::string& flag) {
  for (size_t c = 0; c < table.header.size(); ++c) {
    if (table.header[c] == name) return static_cast<int>(c);
  }
  char* end = nullptr;
  const long number = std::strtol(name.c_str(), &end, 10);
  if (!name.empty() && *end == '\0' && number >= 1 &&
      number <= table.num_columns()) {
    return static_cast<int>(number - 1);
  }
  std::string known;
  for (const std::string& h : table.header)
    known += (known.empty() ? "" : ", ") + h;
  throw UsageError(
      flag + " '" + name + "': " + table.path + " has no such column (" +
      (known.empty() ? "it has no header; use a number from 1 to " +
                           std::to_string(table.num_columns())
                     : "columns: " + known) +
      ")");
}

std::string ColumnName(const CsvTable& table, int column) {
  if (column < static_cast<int>(table.header.size()) &&
      !table.header[column].empty()) {
    return "'" + table.header[column] + "'";
  }
  return "column " + std::to_string(column + 1);
}

HeaderMode ParseHeaderFlag(const std::string& value) {
  if (value == "auto") return HeaderMode::kAuto;
  if (value == "yes") return HeaderMode::kPresent;
  if (value == "no") return HeaderMode::kAbsent;
  throw UsageError("--header must be auto, yes or no, got '" + value + "'");
}

bool IsNumber(const std::string& text) {
  const std::string trimmed = Trimmed(text);
  if (trimmed.empty()) return false;
  char* end = nullptr;
  const double value = std::strtod(trimmed.c_str(), &end);
  return *end == '\0' && std::isfinite(value);
}

double NumberAt(const CsvTable& table, size_t row, int column) {
  const std::string text = Trimmed(table.rows.at(row).at(column));
  const std::string where =
      table.PlaceOf(row, column) + ColumnName(table, column) + ": ";
  if (text.empty())
    throw std::runtime_error(where + "blank value, expected a number");
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (*end != '\0') {
    throw std::runtime_error(where + "'" + text + "' is not a number");
  }
  if (!std::isfinite(value)) {
    throw std::runtime_error(where + "'" + text +
                             "' is not a finite number (NaN and infinities "
                             "are not allowed)");
  }
  return value;
}

}  // namespace lstmkit::cli
