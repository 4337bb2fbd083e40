#include "app/runs/progress.h"

#include <unistd.h>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace jeffreys::app {

Progress::Progress(std::ostream* out, int64_t total) : out_(out), total_(total) {
  tty_ = out_ == &std::cerr ? isatty(2) : (out_ == &std::cout ? isatty(1) : false);
}

void Progress::update(const MetricsRow& r, double steps_per_second, bool log_line) {
  if (out_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_ && !log_line && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double step = r.at("step");
  const double left = steps_per_second > 0 ? (static_cast<double>(total_) - step) / steps_per_second : 0;
  std::ostringstream o;
  o << "step " << static_cast<int64_t>(step) << "/" << total_ << std::fixed << std::setprecision(3);
  for (const char* k : {"F", "P", "R", "lambda_0", "wasserstein", "ess", "nll_flow", "nll_proxy"}) {
    auto it = r.find(k);
    if (it != r.end() && !std::isnan(it->second)) o << "  " << k << " " << it->second;
  }
  o << std::setprecision(0) << "  " << steps_per_second << " steps/s  " << static_cast<int64_t>(left) << " s left";
  if (tty_) {
    *out_ << "\r\033[K" << o.str() << std::flush;
  } else if (log_line) {
    *out_ << o.str() << "\n" << std::flush;
  }
}

void Progress::finish() {
  if (out_ != nullptr && tty_) *out_ << "\n";
}

}  // namespace jeffreys::app
