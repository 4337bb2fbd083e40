#include "run_outcome.h"

#include <cmath>
#include <iomanip>

namespace jeffreys::cli {

void print_outcome(const app::RunSummary& r, std::ostream& out) {
  auto get = [&](const char* k) {
    auto it = r.final_metrics.find(k);
    return it == r.final_metrics.end() ? std::nan("") : it->second;
  };
  out << std::fixed << std::setprecision(3);
  out << "run folder: " << r.dir << " (" << r.status << ", " << r.steps_done << " steps)\n";
  out << "final NLL on held-out data: main model (flow) " << get("nll_flow");
  if (!std::isnan(get("nll_proxy")))
    out << ", proxy (energy model) " << get("nll_proxy") << " (log Z " << get("log_z") << " +- " << get("log_z_se") << ")";
  out << "\n";
  if (!std::isnan(get("jeffreys")))
    out << "grid divergences of the flow: forward KL " << get("forward_kl") << ", reverse KL " << get("reverse_kl")
        << ", Jeffreys " << get("jeffreys") << "\n";
  out << "metrics: " << r.dir << "/metrics.csv, summary: " << r.dir << "/summary.json\n";
  out << "plots:   " << r.dir << "/plots/ (densities.png, samples.png, curve_*.png)\n";
}

}  // namespace jeffreys::cli
