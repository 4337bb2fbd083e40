#pragma once
/// Flow families built from one options struct: RealNVP (affine coupling), NSF (spline coupling),
/// MAF (affine autoregressive) and MAF with splines; optional ActNorm, LU-linear and permutations.
#include <torch/arg.h>

#include <string>
#include <vector>

#include "jeffreys/flows/flow.h"
#include "jeffreys/nn/activation.h"

namespace jeffreys::flows {

enum class FlowFamily { realnvp, nsf, maf, maf_spline };
enum class PermutationKind { none, reverse, random };

struct FlowOptions {
  explicit FlowOptions(int64_t features) : features_(features) {}
  TORCH_ARG(int64_t, features);
  TORCH_ARG(int64_t, context_features) = 0;
  TORCH_ARG(FlowFamily, family) = FlowFamily::realnvp;
  /// Number of coupling / autoregressive layers.
  TORCH_ARG(int64_t, layers) = 8;
  /// Conditioner width and number of hidden layers.
  TORCH_ARG(int64_t, hidden) = 128;
  TORCH_ARG(int64_t, depth) = 2;
  TORCH_ARG(nn::Activation, activation) = nn::Activation::silu;
  /// Affine log-scale soft clamp (RealNVP, MAF).
  TORCH_ARG(double, scale_clamp) = 1.0;
  /// Spline bins and interval [-bound, bound] (NSF, MAF-spline); identity outside.
  TORCH_ARG(int64_t, bins) = 8;
  TORCH_ARG(double, bound) = 5.0;
  /// Data-initialised ActNorm before every layer.
  TORCH_ARG(bool, actnorm) = false;
  /// LU-decomposed invertible linear layer before every layer.
  TORCH_ARG(bool, lu_linear) = false;
  /// Between layers. Couplings also alternate which half conditions and autoregressive layers
  /// alternate their order, so none is needed in 2D.
  TORCH_ARG(PermutationKind, permutation) = PermutationKind::none;
  /// Zero-initialise conditioner outputs: every layer starts as the identity.
  TORCH_ARG(bool, zero_init) = false;
  /// Seed for random permutations.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Learned context embedding (conditional flows): an MLP context_features -> embedding_hidden x
  /// embedding_depth -> embedding_features, trained with the flow, whose output every conditioner
  /// receives instead of the raw context. 0: the conditioners see the raw context.
  TORCH_ARG(int64_t, embedding_features) = 0;
  TORCH_ARG(int64_t, embedding_hidden) = 64;
  TORCH_ARG(int64_t, embedding_depth) = 2;
};

Flow make_flow(const FlowOptions& options);

/// The names of the families and permutations, as the parsers below accept them.
std::vector<std::string> flow_family_names();
std::vector<std::string> permutation_names();
FlowFamily flow_family_from_string(const std::string& name);
std::string to_string(FlowFamily f);
PermutationKind permutation_from_string(const std::string& name);

}  // namespace jeffreys::flows
