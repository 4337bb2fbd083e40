#pragma once
/// The three terms of the Jeffreys objective (METHOD.md section 2) with the gradient rules built in:
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
  /// Flow samples M (unconditional), or K per context row (conditional).
  int64_t flow_samples = 256;
  /// Data parallel: the batch passed is rows [row_begin, row_begin + B) of a step's batch of `rows`
  /// over all processes (0: this process has the whole batch), and, unconditionally, its flow
  /// samples are [sample_begin, sample_end) of the M. Every process draws the one noise of the whole
  /// step and transforms its slice, so together they compute what one process does on the whole batch.
  struct Share {
    int64_t rows = 0, row_begin = 0;
    int64_t sample_begin = 0, sample_end = 0;
  } share;
};

struct Terms {
  /// Scalars carrying their graphs; undefined when not requested.
  torch::Tensor F, P, R;
  /// log Ẑ_ψ (mean over contexts), with its graph to ψ; undefined if neither P nor R was requested.
  torch::Tensor log_z;
  /// Mean effective sample size of the importance weights (0 when not computed), out of `flow_samples`.
  double ess = 0;
  /// The pieces that shards combine (P = P_data + log_z, R = R_samples + log_z): means over this
  /// shard's data rows and flow samples, with their graphs. Unconditional: log_w_lse (with its graph
  /// to ψ) and log_w2_lse are logsumexp of this shard's log-weights and of twice them, since
  /// log Ẑ over all shards is a log-sum-exp across them, not a mean.
  torch::Tensor P_data, R_samples, log_w_lse;
  double log_w2_lse = 0;
};

/// `x`: data batch [B, D]; `context`: [B, C] or undefined. Conditional: K flow samples per context
/// row, log Ẑ_ψ(c_i) per row, all batched (no loop over contexts). `energy` may be null if only F is asked.
Terms jeffreys_terms(flows::FlowImpl& flow, energy::EnergyImpl* energy, const torch::Tensor& x,
                     const torch::Tensor& context, const TermsRequest& request,
                     c10::optional<at::Generator> generator = c10::nullopt);

}  // namespace jeffreys::divergence
