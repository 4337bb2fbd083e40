#pragma once
/// Typed errors of training, so callers and tests can tell divergence from bad input.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace jeffreys::train {

/// A term or a gradient became NaN/infinite or left the allowed range. Names the step and the term.
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(int64_t step, std::string term, double value, const std::string& why);
  int64_t step;
  std::string term;
  double value;
};

/// A checkpoint that cannot be read or does not match the models.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace jeffreys::train
