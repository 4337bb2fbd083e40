#include "jeffreys/divergence/importance.h"

#include <torch/torch.h>

#include <cmath>

namespace jeffreys::divergence {

LogZ log_z_from_log_weights(const torch::Tensor& log_w) {
  TORCH_CHECK(log_w.dim() == 1 || log_w.dim() == 2, "log_z_from_log_weights: expected [K] or [K, C], got ",
              log_w.sizes());
  const double log_k = std::log(static_cast<double>(log_w.size(0)));
  auto lse = torch::logsumexp(log_w, 0);
  LogZ out;
  out.log_z = lse - log_k;
  {
    torch::NoGradGuard g;
    // ESS = exp(2 lse(log w) - lse(2 log w)), computed in log space so huge weights do not overflow.
    out.ess = torch::exp(2 * lse.detach() - torch::logsumexp(2 * log_w.detach(), 0));
  }
  return out;
}

LogZEstimate estimate_log_z(flows::FlowImpl& flow, energy::EnergyImpl& energy, int64_t n,
                            const torch::Tensor& context, int64_t chunk, c10::optional<at::Generator> generator) {
  TORCH_CHECK(n >= 2, "estimate_log_z: needs at least 2 samples");
  TORCH_CHECK(!context.defined() || context.size(0) == 1, "estimate_log_z: context must be a single row [1, C]");
  torch::NoGradGuard g;
  std::vector<torch::Tensor> parts;
  for (int64_t done = 0; done < n; done += chunk) {
    const int64_t m = std::min(chunk, n - done);
    // One context row: the per-context calls embed it once, not m times.
    auto [y, lp] = context.defined() ? flow.sample_and_log_prob_per_context(m, context, generator)
                                     : flow.sample_and_log_prob(m, {}, generator);
    auto e = context.defined() ? energy.energy_per_context(y, context) : energy.energy(y);
    parts.push_back((-e - lp).to(torch::kDouble));
  }
  auto log_w = torch::cat(parts);
  auto lz = log_z_from_log_weights(log_w);
  LogZEstimate e;
  e.log_z = lz.log_z.item<double>();
  e.ess = lz.ess.item<double>();
  e.samples = n;
  auto w = torch::exp(log_w - log_w.max());
  e.std_error = (w.std() / (w.mean() * std::sqrt(static_cast<double>(n)))).item<double>();
  return e;
}

torch::Tensor sample_importance_resampling(flows::FlowImpl& flow, energy::EnergyImpl& energy, int64_t n,
                                           int64_t proposals, c10::optional<at::Generator> generator,
                                           const torch::Tensor& context) {
  TORCH_CHECK(n >= 1 && proposals >= 1, "sample_importance_resampling: n and proposals must be >= 1");
  TORCH_CHECK(!context.defined() || (context.dim() == 2 && context.size(0) == 1),
              "sample_importance_resampling: context must be [1, C]");
  torch::NoGradGuard g;
  auto [y, lp] = context.defined() ? flow.sample_and_log_prob_per_context(proposals, context, generator)
                                   : flow.sample_and_log_prob(proposals, {}, generator);
  auto e = context.defined() ? energy.energy_per_context(y, context) : energy.energy(y);
  auto log_w = (-e - lp).to(torch::kDouble);
  auto w = torch::exp(log_w - log_w.max());
  auto idx = torch::multinomial(w, n, /*replacement=*/true, generator);
  return y.index_select(0, idx);
}

}  // namespace jeffreys::divergence
