#include "app/runs/setup.h"

#include "jeffreys/metrics/grid.h"
#include "jeffreys/metrics/mmd.h"
#include "jeffreys/metrics/nll.h"

namespace jeffreys::app {
namespace {

/// Test sample: fresh draws from the true distribution (the same at every evaluation), else the validation split.
torch::Tensor test_set(const Setup& s) {
  if (s.toy) return s.toy->sample(s.config.eval.n_test, eval_generator(s.config.seed, 1)).to(s.train_x.device());
  return s.validation;
}

}  // namespace

MetricsRow evaluate(Setup& s, int64_t step) {
  torch::NoGradGuard g;
  s.flow->eval();
  MetricsRow m;
  auto test = test_set(s);
  m["nll_flow"] = metrics::flow_nll(*s.flow, test);
  if (s.uses_proxy) {
    auto p = metrics::proxy_nll(*s.flow, *s.energy, test, s.config.eval.log_z_samples,
                                eval_generator(s.config.seed, 2 + static_cast<uint64_t>(step)));
    m["nll_proxy"] = p.nll;
    m["log_z"] = p.log_z;
    m["log_z_se"] = p.log_z_std_error;
  }
  if (s.toy && s.toy->has_log_prob() && s.dim() == 2) {
    const auto e = s.toy->extent();
    metrics::Grid2D grid{e[0], e[1], e[2], e[3], s.config.eval.grid, s.config.eval.grid};
    auto pts = grid.points();
    if (!s.grid_log_density.defined()) s.grid_log_density = s.toy->log_prob(pts);
    auto log_p = s.flow->log_prob(pts.to(s.train_x.options())).to(torch::kDouble).cpu();
    auto d = metrics::divergence_on_grid(s.grid_log_density, log_p, grid.cell_area());
    m["forward_kl"] = d.forward_kl;
    m["reverse_kl"] = d.reverse_kl;
    m["jeffreys"] = d.jeffreys;
  }
  const int64_t k = std::min<int64_t>(s.config.eval.mmd_samples, test.size(0));
  auto model = s.flow->sample(k, {}, eval_generator(s.config.seed, 3 + static_cast<uint64_t>(step)));
  m["mmd"] = metrics::mmd2(model.to(torch::kDouble).cpu(), test.narrow(0, 0, k).to(torch::kDouble).cpu());
  s.flow->train();
  return m;
}


at::Generator eval_generator(uint64_t seed, uint64_t salt) {
  return at::detail::createCPUGenerator(seed * 1000003ULL + salt);
}

}  // namespace jeffreys::app
