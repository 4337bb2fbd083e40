#pragma once
/// Numeric tables from CSV files: the way users bring their own data sets.
#include <torch/arg.h>
#include <torch/types.h>

#include <string>

#include "jeffreys/data/errors.h"
#include "jeffreys/data/split.h"

namespace jeffreys::data {

/// Whether the first (non-comment, non-blank) line is a header of column names.
enum class CsvHeader {
  /// A header when none of its fields is a number.
  detect,
  present,
  absent,
};

/// How read_csv reads a file.
struct CsvOptions {
  TORCH_ARG(CsvHeader, header) = CsvHeader::detect;
};

/// Reads a numeric table of any width as float32 [N, D].
///
/// Fields are separated by commas; spaces and tabs around a field are ignored, as is a pair of
/// double quotes around it (quoted fields cannot contain commas). Lines starting with '#' (after
/// optional whitespace) and blank lines are skipped; Windows line ends and a UTF-8 byte-order mark are
/// accepted. Every row must have the same number of fields, and every field must be a finite number
/// that fits float32 (NaN and infinities are rejected rather than silently propagated into training).
/// Throws DataError naming the file, the 1-based line and column (and the header name when there is
/// one), e.g. "data.csv:17: column 3 ('y'): 'abc' is not a number"; also for a missing or unreadable
/// file, an empty one, a header without rows, and binary content (NUL bytes, invalid UTF-8).
/// A gzip-compressed file (data.csv.gz) is read as it is, decompressed.
torch::Tensor read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace jeffreys::data
