#pragma once
/// Learning-rate schedules: a factor of the base rate as a function of the step.
#include <cstdint>
#include <string>
#include <vector>

namespace jeffreys::train {

enum class ScheduleKind { constant, cosine, exponential };

struct Schedule {
  ScheduleKind kind = ScheduleKind::constant;
  /// Linear warm-up from 0 over this many steps.
  int64_t warmup_steps = 0;
  /// Cosine: steps over which the factor decays from 1 to min_factor.
  int64_t total_steps = 0;
  double min_factor = 0.0;
  /// Exponential: factor gamma^step.
  double gamma = 1.0;

  /// Factor for 0-based `step` (the step about to be taken).
  double factor(int64_t step) const;
};

/// The names schedule_from_string accepts.
std::vector<std::string> schedule_names();
ScheduleKind schedule_from_string(const std::string& name);

}  // namespace jeffreys::train
