#include "jeffreys/data/csv.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>
#include <vector>

#include "data/gz_reader.h"

namespace jeffreys::data {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A field without surrounding whitespace and without one pair of surrounding double quotes.
std::string_view clean_field(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = trim(s.substr(1, s.size() - 2));
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

// Field text for messages: quoted, shortened when long.
std::string shown(std::string_view s) {
  constexpr size_t kMax = 40;
  return "'" + (s.size() > kMax ? std::string(s.substr(0, kMax)) + "..." : std::string(s)) + "'";
}

enum class Parsed { number, not_a_number, not_finite, out_of_range };

/// Values beyond this magnitude are refused: the models train in float32 on the raw values, and
/// data at such scales (1e30 passes float32) diverges at the first step.
constexpr double kMaxCsvMagnitude = 1e8;
/// The most text a table may hold (decompressed): far beyond the row bounds of any configuration.
constexpr uint64_t kMaxCsvBytes = uint64_t{4} << 30;

// Locale-independent (std::from_chars); the whole field must be consumed. A leading '+' is allowed.
Parsed parse_number(std::string_view s, double& value) {
  if (s.size() >= 2 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  if (s.empty()) return Parsed::not_a_number;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (end != s.data() + s.size()) return Parsed::not_a_number;
  if (ec == std::errc::result_out_of_range) {
    // Underflow (a negative exponent, or no integer part) is a zero; anything else overflowed.
    const size_t e = s.find_first_of("eE");
    const bool tiny = e != std::string_view::npos ? (e + 1 < s.size() && s[e + 1] == '-')
                                                   : s.find_first_not_of("+-0") == s.find('.');
    if (!tiny) return Parsed::out_of_range;
    value = 0;
    return Parsed::number;
  }
  if (ec != std::errc()) return Parsed::not_a_number;
  if (!std::isfinite(value)) return Parsed::not_finite;
  if (std::abs(value) > kMaxCsvMagnitude) return Parsed::out_of_range;
  return Parsed::number;
}

// Offset of the first byte that is not text: NUL or another control character (other than tab,
// line ends, vertical tab and form feed), or a byte sequence that is not valid UTF-8. npos if none.
size_t first_non_text_byte(std::string_view s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = b[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') return i;
      if (c == 0x7f) return i;
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += len;
  }
  return std::string_view::npos;
}

class Reader {
 public:
  Reader(std::string path, const CsvOptions& options) : path_(std::move(path)), options_(options) {}

  torch::Tensor read() {
    const std::string text = load();
    std::string_view rest(text);
    if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);  // UTF-8 byte-order mark
    if (rest.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos)
      fail("empty file: no header and no rows");
    check_text(rest);

    int64_t line_no = 0;
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      ++line_no;
      const auto content = trim(line);
      if (content.empty() || content.front() == '#') continue;
      handle(line_no, split_fields(line));
    }
    if (rows_ == 0) {
      if (header_line_ > 0)
        fail(header_line_, "a header line but no data rows");
      fail("no data rows (only comments and blank lines)");
    }
    return torch::from_blob(values_.data(), {rows_, width_}, torch::kFloat).clone();
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw DataError(path_ + ": " + why); }
  [[noreturn]] void fail(int64_t line, const std::string& why) const {
    throw DataError(path_ + ":" + std::to_string(line) + ": " + why);
  }
  std::string column(size_t c) const {
    std::string s = "column " + std::to_string(c + 1);
    if (c < names_.size()) s += " (" + shown(names_[c]) + ")";
    return s;
  }

  /// The file's text; gzip-compressed files are read as they are.
  std::string load() const { return detail::read_text_file(path_, "a CSV file", kMaxCsvBytes); }

  void check_text(std::string_view s) const {
    const size_t bad = first_non_text_byte(s);
    if (bad == std::string_view::npos) return;
    const auto before = s.substr(0, bad);
    const size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
    const int64_t line = 1 + static_cast<int64_t>(std::count(before.begin(), before.end(), '\n'));
    const auto col = static_cast<size_t>(std::count(before.begin() + static_cast<std::ptrdiff_t>(line_start), before.end(), ','));
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(s[bad])));
    fail(line, "column " + std::to_string(col + 1) + ": byte " + hex +
                   (s[bad] == '\0' ? " (NUL)" : "") +
                   " is not text (control character or invalid UTF-8): this looks like a binary file, not a CSV table");
  }

  void handle(int64_t line, const std::vector<std::string_view>& fields) {
    if (first_line_ == 0) {
      first_line_ = line;
      width_ = static_cast<int64_t>(fields.size());
      if (is_header(fields)) {
        header_line_ = line;
        for (auto f : fields) names_.emplace_back(clean_field(f));
        return;
      }
    }
    if (static_cast<int64_t>(fields.size()) != width_)
      fail(line, std::to_string(fields.size()) + (fields.size() == 1 ? " field" : " fields") + ", expected " +
                     std::to_string(width_) + " (as on line " + std::to_string(first_line_) + ")");
    for (size_t c = 0; c < fields.size(); ++c) {
      const auto f = clean_field(fields[c]);
      if (f.empty()) fail(line, column(c) + ": empty field");
      double v = 0;
      switch (parse_number(f, v)) {
        case Parsed::number:
          break;
        case Parsed::not_finite:
          fail(line, column(c) + ": " + shown(f) + " is not a finite number (NaN and infinities are not allowed)");
        case Parsed::out_of_range:
          fail(line, column(c) + ": " + shown(f) + " is outside +-1e8 (rescale the data: the models train in float32 on "
                                                   "the raw values)");
        case Parsed::not_a_number: {
          std::string hint;
          if (f.find_first_of(" \t") != std::string_view::npos) {
            hint = " (fields are separated by commas)";
          } else if (line == first_line_ && options_.header() == CsvHeader::detect && !looks_numeric(f)) {
            hint = " (a first line counts as a header only when none of its fields is numeric; "
                   "set the header option to force one)";
          }
          fail(line, column(c) + ": " + shown(f) + " is not a number" + hint);
        }
      }
      values_.push_back(static_cast<float>(v));
    }
    ++rows_;
  }

  // Detected: no field is a number or starts like one ("1 2" is a malformed row, not a name).
  bool is_header(const std::vector<std::string_view>& fields) const {
    if (options_.header() != CsvHeader::detect) return options_.header() == CsvHeader::present;
    for (auto f : fields) {
      const auto c = clean_field(f);
      double v = 0;
      if (looks_numeric(c) || parse_number(c, v) != Parsed::not_a_number) return false;
    }
    return true;
  }
  static bool looks_numeric(std::string_view f) {
    return !f.empty() && (std::isdigit(static_cast<unsigned char>(f.front())) || f.front() == '+' ||
                          f.front() == '-' || f.front() == '.');
  }

  std::string path_;
  CsvOptions options_;
  int64_t first_line_ = 0, header_line_ = 0, width_ = 0, rows_ = 0;
  std::vector<std::string> names_;
  std::vector<float> values_;
};

}  // namespace

torch::Tensor read_csv(const std::string& path, const CsvOptions& options) { return Reader(path, options).read(); }

}  // namespace jeffreys::data
