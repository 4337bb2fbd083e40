#pragma once
/// The three terms of the Jeffreys objective (METHOD.md section 2) with the gradient rules built in
/// (and W, the importance weights' degeneracy, for a constraint on the sampler):
///   F = -mean log p_θ(x)                       forward cross-entropy (maximum likelihood)
///   P =  mean E_ψ(x) + log Ẑ_ψ                  proxy cross-entropy
///   R =  mean [log p_θ(y) + E_ψ(y)] + log Ẑ_ψ   KL(p_θ || q_ψ), y = T_θ(z) reparameterised
/// log Ẑ_ψ uses detached flow samples and log-densities, so it sends no gradient to θ.
#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>
#include <torch/types.h>

#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/flow.h"

namespace jeffreys::divergence {

struct TermsRequest {
  bool forward = true;  ///< F
  bool proxy = true;    ///< P
  bool reverse = true;  ///< R
  /// W = log(M / ESS) of the importance weights behind log Ẑ (conditional: mean over contexts of
  /// log(K / ESS(c))), with its graph to both models (the flow samples reparameterised): the term of
  /// the fourth constraint ESS / M >= c. Unconditional W is computed by one process only.
  bool degeneracy = false;
  /// Flow samples M (unconditional), or K per context row (conditional).
  int64_t flow_samples = 256;
  /// Conditional: P and R (and log Ẑ) on this many of the batch's rows, drawn at random each step
  /// (an unbiased estimate of the batch mean; F keeps every row). 0: every row.
  int64_t proxy_rows = 0;
  /// Data parallel: this process computes block `rank` of `ranks` of every mean. Each process is
  /// given the whole step's batch and draws the one noise of the whole step, then takes its block
  /// of the rows (of the proxy rows, of the flow samples), so that together the processes compute
  /// what one process does; Terms says what share of each mean this process's pieces are.
  int64_t rank = 0, ranks = 1;
};

struct Terms {
  /// Scalars carrying their graphs; undefined when not requested.
  torch::Tensor F, P, R, W;
  /// log Ẑ_ψ (mean over contexts), with its graph to ψ; undefined if neither P nor R was requested.
  torch::Tensor log_z;
  /// Mean effective sample size of the importance weights (0 when not computed), out of `flow_samples`.
  double ess = 0;
  /// The pieces that processes combine (P = P_data + log_z, R = R_samples + log_z): means over this
  /// process's rows and flow samples, with their graphs (undefined when it has no proxy rows).
  /// Unconditional: log_w_lse (with its graph to ψ) and log_w2_lse are logsumexp of this process's
  /// log-weights and of twice them, since log Ẑ over all processes is a log-sum-exp across them
  /// (computed only when `ranks` > 1).
  torch::Tensor P_data, R_samples, log_w_lse;
  double log_w2_lse = 0;
  /// This process's share of the rows behind F, of the rows behind P, R and log Ẑ (conditional),
  /// and of the flow samples behind R (all 1 for one process).
  double data_share = 1, proxy_share = 1, sample_share = 1;
};

/// `x`: data batch [B, D]; `context`: [B, C] or undefined. Conditional: K flow samples per context
/// row, log Ẑ_ψ(c_i) per row, all batched (no loop over contexts). `energy` may be null if only F is asked.
Terms jeffreys_terms(flows::FlowImpl& flow, energy::EnergyImpl* energy, const torch::Tensor& x,
                     const torch::Tensor& context, const TermsRequest& request,
                     c10::optional<at::Generator> generator = c10::nullopt);

}  // namespace jeffreys::divergence
