#pragma once
/// Typed errors of data loading, so callers and tests can tell bad input files from other failures.
#include <stdexcept>

namespace jeffreys::data {

/// A data file that cannot be read or parsed. what() names the file and, where there is one, the
/// 1-based line and column: "data.csv:17: column 3 ('y'): 'abc' is not a number".
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace jeffreys::data
