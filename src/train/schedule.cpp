#include "jeffreys/train/schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace jeffreys::train {

double Schedule::factor(int64_t step) const {
  double f = 1.0;
  switch (kind) {
    case ScheduleKind::constant: break;
    case ScheduleKind::cosine: {
      if (total_steps <= 0) throw std::invalid_argument("cosine schedule: total_steps must be > 0");
      const double t = std::clamp(static_cast<double>(step) / static_cast<double>(total_steps), 0.0, 1.0);
      f = min_factor + (1.0 - min_factor) * 0.5 * (1.0 + std::cos(M_PI * t));
      break;
    }
    case ScheduleKind::exponential: f = std::pow(gamma, static_cast<double>(step)); break;
  }
  if (warmup_steps > 0 && step < warmup_steps) f *= static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  return f;
}

std::vector<std::string> schedule_names() { return {"constant", "cosine", "exponential"}; }

ScheduleKind schedule_from_string(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "cosine") return ScheduleKind::cosine;
  if (name == "exponential") return ScheduleKind::exponential;
  throw std::invalid_argument("unknown schedule '" + name + "' (choose constant, cosine, exponential)");
}

}  // namespace jeffreys::train
