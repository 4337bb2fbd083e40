#include "jeffreys/energy/energy.h"

#include <torch/torch.h>

namespace jeffreys::energy {

namespace {
int64_t rows_per_context(const torch::Tensor& x, const torch::Tensor& context) {
  TORCH_CHECK(context.defined() && context.dim() == 2 && context.size(0) >= 1 && x.dim() == 2 &&
                  x.size(0) % context.size(0) == 0,
              "Energy: energy_per_context needs x [k*B, D] and a context [B, C], got ", x.sizes(), " and ",
              context.defined() ? context.sizes() : c10::IntArrayRef{});
  return x.size(0) / context.size(0);
}
}  // namespace

torch::Tensor EnergyImpl::energy_per_context(const torch::Tensor& x, const torch::Tensor& context) {
  const int64_t k = rows_per_context(x, context);
  return energy(x, k == 1 ? context : context.repeat({k, 1}));
}

torch::Tensor EnergyImpl::log_prob(const torch::Tensor& x, const torch::Tensor& log_z, const torch::Tensor& context) {
  return -energy(x, context) - log_z;
}

MLPEnergyImpl::MLPEnergyImpl(MLPEnergyOptions options_) : options(std::move(options_)) {
  TORCH_CHECK(options.features() >= 1, "MLPEnergy: features must be >= 1");
  TORCH_CHECK(options.embedding_features() >= 0, "MLPEnergy: embedding_features must be >= 0");
  const bool embed = options.embedding_features() > 0;
  net = register_module("net", nn::MLP(nn::MLPOptions(options.features(), 1)
                                           .hidden(options.hidden())
                                           .depth(options.depth())
                                           .context_features(embed ? options.embedding_features()
                                                                   : options.context_features())
                                           .activation(options.activation())));
  embedding = nn::context_embedding("MLPEnergy", options.context_features(), options.embedding_features(),
                                    options.embedding_hidden(), options.embedding_depth(), options.activation());
  if (embedding) register_module("embedding", embedding);
}

torch::Tensor MLPEnergyImpl::energy(const torch::Tensor& x, const torch::Tensor& context) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == options.features(), "MLPEnergy: input must have shape [batch, ",
              options.features(), "], got ", x.sizes());
  TORCH_CHECK(context.defined() == (options.context_features() > 0),
              options.context_features() > 0 ? "MLPEnergy: this energy needs a context"
                                              : "MLPEnergy: this energy is unconditional but a context was given");
  return net->forward(x, embedding && context.defined() ? embedding->forward(context) : context).squeeze(-1);
}

torch::Tensor MLPEnergyImpl::energy_per_context(const torch::Tensor& x, const torch::Tensor& context) {
  if (!embedding) return EnergyImpl::energy_per_context(x, context);
  const int64_t k = rows_per_context(x, context);
  TORCH_CHECK(x.size(1) == options.features(), "MLPEnergy: input must have ", options.features(), " features, got ",
              x.sizes());
  auto e = embedding->forward(context);  // B rows, then tiled: the embedding is not recomputed k times
  return net->forward(x, k == 1 ? e : e.repeat({k, 1})).squeeze(-1);
}

}  // namespace jeffreys::energy
