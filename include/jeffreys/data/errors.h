#pragma once
/// Typed errors of data loading, so callers and tests can tell bad input files from other failures.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace jeffreys::data {

/// `text` with its control characters written out (\n, \r, \t, \xNN): error messages quote what
/// they found in a file, and a message must stay one line whatever the file holds.
inline std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out;
}

/// A data file that cannot be read or parsed. what() names the file and, where there is one, the
/// 1-based line and column: "data.csv:17: column 3 ('y'): 'abc' is not a number".
class DataError : public std::runtime_error {
 public:
  explicit DataError(const std::string& what) : std::runtime_error(printable(what)) {}
};

}  // namespace jeffreys::data
