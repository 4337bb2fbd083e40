#pragma once
// One number in the run folders' CSV files: 10 significant digits, NaN as an empty field (a term the
// method does not have), so every CSV the tool writes reads the same way.
#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>

namespace jeffreys::experiment::detail {

inline std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream o;
  o << std::setprecision(10) << v;
  return o.str();
}

}  // namespace jeffreys::experiment::detail
