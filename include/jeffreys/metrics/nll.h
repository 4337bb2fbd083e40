#pragma once
/// Held-out negative log-likelihoods, in nats per sample: the flow's is exact; the energy model's
/// needs log Z_ψ, estimated by importance sampling from the flow (divergence/importance.h).
#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>
#include <torch/types.h>

#include <cstdint>

#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/flow.h"

namespace jeffreys::metrics {

/// Mean negative log-likelihood of a flow on x (chunks, no grad), optional context.
/// `x` [N, D] and `context` [N, C] are moved to the flow's dtype and device. The flow runs in eval
/// mode (restored afterwards) so that an uninitialised ActNorm is not initialised on test data.
double flow_nll(flows::FlowImpl& flow, const torch::Tensor& x, const torch::Tensor& context = {},
                int64_t chunk = 8192);

/// Energy-model NLL on a data set, with the log Ẑ estimate it rests on.
struct ProxyNll {
  /// mean_i E_ψ(x_i) + log Ẑ_ψ.
  double nll;
  double log_z;
  /// Delta-method standard error of log Ẑ, which is also the error it induces in `nll` (the
  /// sampling error of the mean over x is not included: it is shared with any other model's NLL).
  double log_z_std_error;
  /// Effective sample size of the importance weights; far below `log_z_samples` means the flow
  /// misses mass of the energy model and the error bar is not to be trusted (METHOD.md section 6).
  double ess;
};

/// NLL of the energy model with log Z estimated from `log_z_samples` flow samples (unconditional): value and the standard error that log Ẑ's error induces.
ProxyNll proxy_nll(flows::FlowImpl& flow, energy::EnergyImpl& energy, const torch::Tensor& x,
                   int64_t log_z_samples = 100000, c10::optional<at::Generator> gen = c10::nullopt);

}  // namespace jeffreys::metrics
