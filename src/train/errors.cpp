#include "jeffreys/train/errors.h"

#include <sstream>

namespace jeffreys::train {
namespace {
std::string message(int64_t step, const std::string& term, double value, const std::string& why) {
  std::ostringstream s;
  s << "training diverged at step " << step << ": " << term << " = " << value << " (" << why << ")";
  return s.str();
}
}  // namespace

TrainingDiverged::TrainingDiverged(int64_t step_, std::string term_, double value_, const std::string& why)
    : std::runtime_error(message(step_, term_, value_, why)), step(step_), term(std::move(term_)), value(value_) {}

}  // namespace jeffreys::train
