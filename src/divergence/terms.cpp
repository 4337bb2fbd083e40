#include "jeffreys/divergence/terms.h"

#include <torch/torch.h>

#include <cmath>
#include <tuple>

#include "jeffreys/divergence/importance.h"

namespace jeffreys::divergence {
namespace {
/// Block `rank` of `ranks` of n items: [rank n / ranks, (rank + 1) n / ranks).
std::pair<int64_t, int64_t> block_of(int64_t n, int64_t rank, int64_t ranks) {
  return {rank * n / ranks, (rank + 1) * n / ranks};
}
}  // namespace

Terms jeffreys_terms(flows::FlowImpl& flow, energy::EnergyImpl* energy, const torch::Tensor& x_all,
                     const torch::Tensor& context_all, const TermsRequest& req, c10::optional<at::Generator> generator) {
  TORCH_CHECK(req.flow_samples >= 1, "jeffreys_terms: flow_samples must be >= 1");
  TORCH_CHECK(req.ranks >= 1 && req.rank >= 0 && req.rank < req.ranks, "jeffreys_terms: bad rank ", req.rank, " of ",
              req.ranks);
  const bool needs_proxy = req.proxy || req.reverse || req.degeneracy;
  TORCH_CHECK(!needs_proxy || energy != nullptr, "jeffreys_terms: P and R need an energy model");
  const bool conditional = context_all.defined();
  const int64_t rows = x_all.size(0), K = req.flow_samples;
  TORCH_CHECK(rows >= req.ranks, "jeffreys_terms: a batch of ", rows, " rows for ", req.ranks, " processes");
  TORCH_CHECK(!req.degeneracy || conditional || req.ranks == 1,
              "jeffreys_terms: W (the ESS constraint) of unconditional training is not computed across processes");
  Terms t;
  // F first: the first data batch a flow sees initialises its ActNorm layers.
  const auto [f0, f1] = block_of(rows, req.rank, req.ranks);
  t.data_share = static_cast<double>(f1 - f0) / static_cast<double>(rows);
  auto block = [&](const torch::Tensor& v, int64_t a, int64_t b) {
    return !v.defined() || (a == 0 && b == v.size(0)) ? v : v.narrow(0, a, b - a);
  };
  const auto x_f = block(x_all, f0, f1), context_f = block(context_all, f0, f1);
  if (req.forward) t.F = -flow.log_prob(x_f, context_f).mean();
  if (!needs_proxy) return t;

  // The rows and flow samples behind P, R and log Ẑ: conditionally K samples for each of the proxy
  // rows (all rows, or a random subset), this process's block of them; unconditionally M samples,
  // this process's block, and its block of the data rows for P.
  torch::Tensor x, context, z;
  if (conditional) {
    torch::Tensor chosen;  // undefined: every row, in order
    int64_t S = rows;
    if (req.proxy_rows > 0 && req.proxy_rows < rows) {
      S = req.proxy_rows;
      chosen = torch::randperm(rows, generator, torch::TensorOptions().dtype(torch::kLong).device(x_all.device()))
                   .narrow(0, 0, S);
    }
    const auto [p0, p1] = block_of(S, req.rank, req.ranks);
    t.proxy_share = t.sample_share = static_cast<double>(p1 - p0) / static_cast<double>(S);
    // Row k*S + j of the whole draw is sample k of proxy row j.
    z = torch::randn({K * S, flow.features()}, generator, flow.tensor_options());
    if (p1 == p0) {
      t.proxy_share = t.sample_share = 0;
      return t;
    }
    if (p0 > 0 || p1 < S) z = z.view({K, S, -1}).narrow(1, p0, p1 - p0).reshape({K * (p1 - p0), -1});
    if (chosen.defined()) {
      auto mine = chosen.narrow(0, p0, p1 - p0);
      x = x_all.index_select(0, mine);
      context = context_all.index_select(0, mine);
    } else {
      x = block(x_all, p0, p1);
      context = block(context_all, p0, p1);
    }
  } else {
    const auto [s0, s1] = block_of(K, req.rank, req.ranks);
    TORCH_CHECK(s1 > s0, "jeffreys_terms: ", K, " flow samples for ", req.ranks, " processes");
    t.sample_share = static_cast<double>(s1 - s0) / static_cast<double>(K);
    t.proxy_share = t.data_share;
    z = torch::randn({K, flow.features()}, generator, flow.tensor_options());
    if (s0 > 0 || s1 < K) z = z.narrow(0, s0, s1 - s0);
    x = x_f;
  }
  const int64_t B = x.size(0);
  auto energy_of = [&](const torch::Tensor& v) {
    return conditional ? energy->energy_per_context(v, context) : energy->energy(v);
  };
  // The per-context calls embed each context once (when the models embed contexts), not K times.
  auto [y, log_py] = conditional ? flow.sample_and_log_prob_per_context_from_noise(z, context)
                                 : flow.sample_and_log_prob_from_noise(z);
  const int64_t n = y.size(0);

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
  // Conditionally row k*B + i is the k-th sample for context i, so log-weights reshape to [K, B].
  auto log_w = -e_fixed - log_py.detach();
  auto lz = log_z_from_log_weights(conditional ? log_w.view({K, B}) : log_w);
  t.log_z = lz.log_z.mean();
  t.ess = lz.ess.mean().item<double>();
  if (!conditional && req.ranks > 1) {
    t.log_w_lse = torch::logsumexp(log_w, 0);
    t.log_w2_lse = torch::logsumexp(2 * log_w.detach(), 0).item<double>();
  }
  if (req.proxy) {
    t.P_data = e_data.mean();
    t.P = t.P_data + t.log_z;
  }
  torch::Tensor e_y;  // E(y) with its graph to θ (through y) and to ψ
  if (req.reverse || req.degeneracy) e_y = energy_of(y);
  if (req.reverse) {
    // Reparameterised through y: θ lowers the energy of its samples and raises its entropy.
    t.R_samples = (log_py + e_y).mean();
    t.R = t.R_samples + t.log_z;
  }
  if (req.degeneracy) {
    // log(M / ESS) = log M - 2 lse(log w) + lse(2 log w): 0 for equal weights, log M for one weight.
    auto lw = -e_y - log_py;
    if (conditional) lw = lw.view({K, B});
    const double log_m = std::log(static_cast<double>(lw.size(0)));
    t.W = (log_m - 2 * torch::logsumexp(lw, 0) + torch::logsumexp(2 * lw, 0)).mean();
  }
  return t;
}

}  // namespace jeffreys::divergence
