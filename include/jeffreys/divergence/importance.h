#pragma once
/// Importance-sampling estimate of log Z_ψ with the flow as proposal (METHOD.md section 2):
/// log w_j = -E_ψ(y_j) - log p_θ(y_j), log Ẑ = logsumexp_j log w_j - log M, and the effective sample
/// size (Σ w)² / Σ w², which tells users when the estimator is failing.
#include <c10/util/Optional.h>
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/flow.h"

namespace jeffreys::divergence {

struct LogZ {
  /// log Ẑ: scalar, or [C] with one value per context when log_w is [K, C].
  torch::Tensor log_z;
  /// Effective sample size, same shape as log_z, in (0, K].
  torch::Tensor ess;
};

/// From log-weights [K] or [K, C] (samples along dim 0). Differentiable in `log_w`.
LogZ log_z_from_log_weights(const torch::Tensor& log_w);

/// A large-sample estimate with its standard error, for evaluation (no gradients).
struct LogZEstimate {
  double log_z = 0;
  /// Delta-method standard error of log Ẑ: sd(w) / (sqrt(n) mean(w)).
  double std_error = 0;
  double ess = 0;
  int64_t samples = 0;
};

/// Estimates log Z_ψ (for one context row, or unconditionally) from `n` flow samples drawn in
/// chunks of `chunk`, so that 10^5 samples fit in memory.
LogZEstimate estimate_log_z(flows::FlowImpl& flow, energy::EnergyImpl& energy, int64_t n,
                            const torch::Tensor& context = {}, int64_t chunk = 8192,
                            c10::optional<at::Generator> generator = c10::nullopt);

/// Sampling-importance-resampling: `n` approximate samples of the proxy q_ψ, drawn with replacement
/// from `proposals` flow samples in proportion to the weights exp(-E_ψ(y) - log p_θ(y)) (unconditional).
/// With a `context` [1, C], draws from the conditional proxy at that context (the proposals all share it).
torch::Tensor sample_importance_resampling(flows::FlowImpl& flow, energy::EnergyImpl& energy, int64_t n,
                                           int64_t proposals, c10::optional<at::Generator> generator = c10::nullopt,
                                           const torch::Tensor& context = {});

}  // namespace jeffreys::divergence
