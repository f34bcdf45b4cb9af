// CSV and TSV files as tables of text fields that remember where each field
// came from, so that an error can name the line and column.
#ifndef LSTMKIT_TOOLS_LSTMKIT_CSV_TABLE_H_
#define LSTMKIT_TOOLS_LSTMKIT_CSV_TABLE_H_

#include <string>
#include <vector>

namespace lstmkit::cli {

enum class HeaderMode {
  kAuto,     // a header when some column is a number below it but not in it
  kPresent,  // the first row names the columns
  kAbsent,   // every row is data
};

// Where a field starts in the file, both counted from 1 (columns in bytes).
struct FieldPlace {
  int line = 0;
  int column = 0;
};

struct CsvTable {
  std::string path;
  char delimiter = ',';
  std::vector<std::string> header;  // empty when the file has none
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<FieldPlace>> places;  // one per field of each row

  int num_columns() const;
  // "PATH:LINE:COLUMN: " for a field of a data row.
  std::string PlaceOf(size_t row, int column) const;
};

// Parses RFC 4180 text: fields split by `delimiter` (',', ';' or '\t';
// 0 = guess from the first line), double quotes around fields that hold a
// delimiter, a quote or a line break, '""' for a quote inside them. Blank
// lines are skipped; every row must have as many fields as the first.
// Throws std::runtime_error "PATH:LINE:COLUMN: what is wrong".
CsvTable ParseCsv(const std::string& text, const std::string& path,
                  HeaderMode header, char delimiter = 0);

// Reads and parses a file; ".tsv" and ".tab" files are tab-separated.
CsvTable ReadCsvFile(const std::string& path, HeaderMode header);

// The column a flag names: a header name, or a number counted from 1.
// Throws UsageError naming `flag` when there is no such column.
int FindColumn(const CsvTable& table, const std::string& name,
               const std::string& flag);

// The column's name for messages: its header, or "column N".
std::string ColumnName(const CsvTable& table, int column);

// A field as a finite number. Throws "PATH:LINE:COLUMN: column 'NAME': ..."
// for blanks, NaN, infinities and text.
double NumberAt(const CsvTable& table, size_t row, int column);

// The value of a --header flag: auto, yes or no (UsageError otherwise).
HeaderMode ParseHeaderFlag(const std::string& value);

// Whether the text is a number as NumberAt reads it (finite, nothing else).
bool IsNumber(const std::string& text);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CSV_TABLE_H_
