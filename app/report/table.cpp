#include "app/report/table.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace jeffreys::app {

std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream o;
  o << std::setprecision(10) << v;
  return o.str();
}

std::optional<size_t> CsvTable::find_column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  return std::nullopt;
}

size_t CsvTable::column(const std::string& name) const {
  if (const auto i = find_column(name)) return *i;
  throw std::runtime_error(file + ": no column '" + name + "'");
}

CsvTable read_csv_table(const std::string& path) {
  CsvTable t;
  t.file = path;
  std::ifstream in(path);
  if (!in) return t;
  std::string line;
  if (!std::getline(in, line)) return t;
  auto split = [](const std::string& l) {
    std::vector<std::string> f;
    std::stringstream s(l);
    std::string x;
    while (std::getline(s, x, ',')) f.push_back(x);
    return f;
  };
  t.header = split(line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto f = split(line);
    if (f.size() < t.header.size()) f.resize(t.header.size());
    t.rows.push_back(std::move(f));
  }
  return t;
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + fields[i];
  return line;
}

double csv_field_number(const CsvTable& table, size_t row, size_t column) {
  const auto& f = table.rows.at(row).at(column);
  if (f.empty()) return std::numeric_limits<double>::quiet_NaN();
  try {
    size_t used = 0;
    const double v = std::stod(f, &used);
    if (used == f.size()) return v;
  } catch (const std::exception&) {
  }
  throw std::runtime_error(table.file + ": row " + std::to_string(row + 2) + ", column '" +
                           (column < table.header.size() ? table.header[column] : std::to_string(column)) +
                           "': not a number: '" + f + "'");
}

MeanStd mean_std(const std::vector<double>& v) {
  MeanStd m;
  double s = 0;
  for (double x : v)
    if (!std::isnan(x)) {
      s += x;
      ++m.n;
    }
  if (m.n == 0) return m;
  m.mean = s / m.n;
  double ss = 0;
  for (double x : v)
    if (!std::isnan(x)) ss += (x - m.mean) * (x - m.mean);
  m.std = m.n > 1 ? std::sqrt(ss / (m.n - 1)) : 0.0;
  return m;
}

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "nan";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string mean_std_cell(const MeanStd& m, const CellFormat& f) {
  if (m.n == 0) return f.missing;
  if (f.infinity_sign && (std::isinf(m.mean) || std::isnan(m.mean))) return m.mean > 0 ? "∞" : "n/a";
  std::string s = fixed(m.mean, f.precision);
  if (m.n > 1 || f.spread_of_one) s += " ± " + fixed(m.std, f.precision);
  if (f.count) s += " (" + std::to_string(m.n) + ")";
  return s;
}

}  // namespace jeffreys::app
