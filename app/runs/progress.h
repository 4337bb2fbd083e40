#pragma once
// Internal to app/runs: the progress of a training run. On a terminal one live line (step, terms,
// duals, ESS, NLLs, steps/s, time left); in a log file or pipe one plain line per logging step.
#include <chrono>
#include <cstdint>
#include <ostream>

#include "app/runs/run_folder.h"

namespace jeffreys::app {

class Progress {
 public:
  Progress(std::ostream* out, int64_t total);
  void update(const MetricsRow& r, double steps_per_second, bool log_line);
  void finish();

 private:
  std::ostream* out_;
  int64_t total_;
  bool tty_ = false;
  std::chrono::steady_clock::time_point last_{};
};


}  // namespace jeffreys::app
