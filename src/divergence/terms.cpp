#include "jeffreys/divergence/terms.h"

#include <torch/torch.h>

#include <tuple>

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
  torch::Tensor y, log_py;
  const auto& share = req.share;
  if (share.rows == 0) {
    std::tie(y, log_py) = conditional ? flow.sample_and_log_prob_per_context(K, context, generator)
                                      : flow.sample_and_log_prob(n, {}, generator);
  } else if (conditional) {
    // Row k*rows + i of the whole draw is sample k of context i: this share's contexts are a block of i.
    TORCH_CHECK(share.row_begin >= 0 && share.row_begin + B <= share.rows, "jeffreys_terms: rows [", share.row_begin,
                ", ", share.row_begin + B, ") are not within the step's ", share.rows);
    auto z = torch::randn({K * share.rows, flow.features()}, generator, flow.tensor_options());
    z = z.view({K, share.rows, -1}).narrow(1, share.row_begin, B).reshape({K * B, -1});
    std::tie(y, log_py) = flow.sample_and_log_prob_per_context_from_noise(z, context);
  } else {
    TORCH_CHECK(0 <= share.sample_begin && share.sample_begin < share.sample_end && share.sample_end <= K,
                "jeffreys_terms: flow samples [", share.sample_begin, ", ", share.sample_end, ") are not within ", K);
    auto z = torch::randn({K, flow.features()}, generator, flow.tensor_options());
    std::tie(y, log_py) =
        flow.sample_and_log_prob_from_noise(z.narrow(0, share.sample_begin, share.sample_end - share.sample_begin));
  }
  const int64_t n_local = y.size(0);

  // One energy pass for everything ψ needs without θ: detached samples (log Ẑ) and the data (P),
  // the data being the (K+1)-th block of rows.
  auto y_fixed = y.detach();
  torch::Tensor e_fixed, e_data;
  if (req.proxy) {
    auto both = energy_of(torch::cat({y_fixed, x}));
    e_fixed = both.narrow(0, 0, n_local);
    e_data = both.narrow(0, n_local, B);
  } else {
    e_fixed = energy_of(y_fixed);
  }
  auto log_w = -e_fixed - log_py.detach();
  auto lz = log_z_from_log_weights(conditional ? log_w.view({K, B}) : log_w);
  t.log_z = lz.log_z.mean();
  t.ess = lz.ess.mean().item<double>();
  if (!conditional) {
    t.log_w_lse = torch::logsumexp(log_w, 0);
    t.log_w2_lse = torch::logsumexp(2 * log_w.detach(), 0).item<double>();
  }
  if (req.proxy) {
    t.P_data = e_data.mean();
    t.P = t.P_data + t.log_z;
  }
  if (req.reverse) {
    // Reparameterised through y: θ lowers the energy of its samples and raises its entropy.
    t.R_samples = (log_py + energy_of(y)).mean();
    t.R = t.R_samples + t.log_z;
  }
  return t;
}

}  // namespace jeffreys::divergence
