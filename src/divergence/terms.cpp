#include "jeffreys/divergence/terms.h"

#include <torch/torch.h>

#include "jeffreys/divergence/importance.h"

namespace jeffreys::divergence {

Terms jeffreys_terms(flows::FlowImpl& flow, energy::EnergyImpl* energy, const torch::Tensor& x,
                     const torch::Tensor& context, const TermsRequest& req, c10::optional<at::Generator> generator) {
  TORCH_CHECK(req.flow_samples >= 1, "jeffreys_terms: flow_samples must be >= 1");
  const bool needs_proxy = req.proxy || req.reverse;
  TORCH_CHECK(!needs_proxy || energy != nullptr, "jeffreys_terms: P and R need an energy model");
  Terms t;
  // F first: the first data batch a flow sees initialises its ActNorm layers.
  if (req.forward) t.F = -flow.log_prob(x, context).mean();
  if (!needs_proxy) return t;

  const int64_t B = x.size(0);
  const bool conditional = context.defined();
  const int64_t K = req.flow_samples;
  const int64_t n = conditional ? K * B : K;
  // Row k*B + i is the k-th sample for context i, so log-weights reshape to [K, B]. The per-context
  // calls embed each context once (when the models embed contexts), not K times.
  auto energy_of = [&](const torch::Tensor& v) {
    return conditional ? energy->energy_per_context(v, context) : energy->energy(v);
  };
  auto [y, log_py] = conditional ? flow.sample_and_log_prob_per_context(K, context, generator)
                                 : flow.sample_and_log_prob(n, {}, generator);

  // One energy pass for everything ψ needs without θ: detached samples (log Ẑ) and the data (P),
  // the data being the (K+1)-th block of rows.
  auto y_fixed = y.detach();
  torch::Tensor e_fixed, e_data;
  if (req.proxy) {
    auto both = energy_of(torch::cat({y_fixed, x}));
    e_fixed = both.narrow(0, 0, n);
    e_data = both.narrow(0, n, B);
  } else {
    e_fixed = energy_of(y_fixed);
  }
  auto log_w = -e_fixed - log_py.detach();
  auto lz = log_z_from_log_weights(conditional ? log_w.view({K, B}) : log_w);
  t.log_z = lz.log_z.mean();
  t.ess = lz.ess.mean().item<double>();
  if (req.proxy) t.P = e_data.mean() + t.log_z;
  if (req.reverse) {
    // Reparameterised through y: θ lowers the energy of its samples and raises its entropy.
    t.R = (log_py + energy_of(y)).mean() + t.log_z;
  }
  return t;
}

}  // namespace jeffreys::divergence
