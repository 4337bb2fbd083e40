#pragma once
/// Energy-based models q_ψ(x | c) = exp(-E_ψ(x, c)) / Z_ψ(c): the proxy that stands in for the data
/// in the reverse KL. Z_ψ is never computed here; divergence/importance.h estimates it.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>

#include "jeffreys/nn/mlp.h"

namespace jeffreys::energy {

class EnergyImpl : public torch::nn::Module {
 public:
  /// E_ψ(x, c): `x` [B, features], `context` [B, context_features] or undefined; returns [B].
  virtual torch::Tensor energy(const torch::Tensor& x, const torch::Tensor& context = {}) = 0;
  /// E_ψ for k rows per context: `x` [k*B, features], row j*B + i paired with context row i
  /// ([B, context_features]). Equals energy(x, context.repeat({k, 1})); models with a context
  /// embedding override it to embed B rows instead of k*B.
  virtual torch::Tensor energy_per_context(const torch::Tensor& x, const torch::Tensor& context);
  /// log q_ψ(x | c) = -E_ψ(x, c) - log Z_ψ(c), given an estimate of log Z (scalar or [B]).
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& log_z, const torch::Tensor& context = {});
  virtual int64_t features() const = 0;
  virtual int64_t context_features() const = 0;
  /// Called by the trainer after every step of the main model: a proxy that keeps its own copy of
  /// the flow (energy/tilted.h with a moving average) updates it here. Plain energies do nothing.
  virtual void flow_stepped() {}
};
using EnergyPtr = std::shared_ptr<EnergyImpl>;

struct MLPEnergyOptions {
  explicit MLPEnergyOptions(int64_t features) : features_(features) {}
  TORCH_ARG(int64_t, features);
  TORCH_ARG(int64_t, context_features) = 0;
  TORCH_ARG(int64_t, hidden) = 128;
  TORCH_ARG(int64_t, depth) = 2;
  TORCH_ARG(nn::Activation, activation) = nn::Activation::silu;
  /// Learned context embedding: E_ψ(x, c) = MLP([x, embed(c)]) with embed an MLP context_features ->
  /// embedding_hidden x embedding_depth -> embedding_features. 0: the raw context.
  TORCH_ARG(int64_t, embedding_features) = 0;
  TORCH_ARG(int64_t, embedding_hidden) = 64;
  TORCH_ARG(int64_t, embedding_depth) = 2;
};

/// E_ψ(x, c) = MLP([x, c]) (or MLP([x, embed(c)])) with a scalar output.
class MLPEnergyImpl : public EnergyImpl {
 public:
  explicit MLPEnergyImpl(MLPEnergyOptions options);
  torch::Tensor energy(const torch::Tensor& x, const torch::Tensor& context = {}) override;
  torch::Tensor energy_per_context(const torch::Tensor& x, const torch::Tensor& context) override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {}) { return energy(x, context); }
  int64_t features() const override { return options.features(); }
  int64_t context_features() const override { return options.context_features(); }

  MLPEnergyOptions options;
  nn::MLP net{nullptr};
  /// Empty unless options.embedding_features() > 0.
  nn::MLP embedding{nullptr};
};
TORCH_MODULE(MLPEnergy);

}  // namespace jeffreys::energy
