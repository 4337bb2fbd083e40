#pragma once
/// The numbers of run folders and reports: how one number is written to CSV, how a CSV file is read
/// back, and how a group of seeds becomes one "mean ± std" table cell. Every writer and report of
/// the tool uses these, so that every file reads the same way.
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace jeffreys::app {

/// One number in a CSV file: 10 significant digits, NaN as an empty field (a term the method does not have).
std::string csv_number(double v);

/// A CSV file as text fields: the header's names and the rows (empty lines skipped; a short row is
/// padded with empty fields).
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  /// Index of `column` in the header; throws std::runtime_error naming the file when absent.
  size_t column(const std::string& name) const;
  /// The same, or nothing when absent: for columns that older files lack.
  std::optional<size_t> find_column(const std::string& name) const;
  std::string file;
};

/// Reads `path`; an absent or empty file gives an empty table.
CsvTable read_csv_table(const std::string& path);

/// A row's fields joined back into one CSV line (no newline): what read_csv_table split.
std::string csv_line(const std::vector<std::string>& fields);

/// A field as a number: empty is NaN; anything else that is not a number is a std::runtime_error
/// naming the file, row and column.
double csv_field_number(const CsvTable& table, size_t row, size_t column);

struct MeanStd {
  double mean = std::numeric_limits<double>::quiet_NaN(), std = std::numeric_limits<double>::quiet_NaN();
  int n = 0;
};

/// Mean and sample standard deviation of the non-NaN values (std 0 for one value).
MeanStd mean_std(const std::vector<double>& v);

/// How a "mean ± std" cell is written.
struct CellFormat {
  int precision = 3;
  /// Append " (n)".
  bool count = false;
  /// Show "± 0.000" for a single value (false: one seed has no spread to show).
  bool spread_of_one = true;
  /// The cell of an empty group.
  std::string missing = "–";
  /// An infinite mean as "∞" (a divergence where the flow has mass the truth has not); else "inf".
  bool infinity_sign = true;
};

std::string mean_std_cell(const MeanStd& m, const CellFormat& format = {});

/// `v` in fixed notation with `digits` decimals; NaN as "nan".
std::string fixed(double v, int digits = 3);

}  // namespace jeffreys::app
