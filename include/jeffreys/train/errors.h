#pragma once
/// Typed errors of training, so callers and tests can tell divergence from bad input.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "jeffreys/data/errors.h"

namespace jeffreys::train {

/// A term or a gradient became NaN/infinite or left the allowed range. Names the step and the term.
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(int64_t step, std::string term, double value, const std::string& why);
  int64_t step;
  std::string term;
  double value;
};

/// A checkpoint that cannot be read or does not match the models. One line (data::printable).
class CheckpointError : public std::runtime_error {
 public:
  explicit CheckpointError(const std::string& what) : std::runtime_error(data::printable(what)) {}
};

}  // namespace jeffreys::train
