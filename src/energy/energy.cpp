#include "jeffreys/energy/energy.h"

#include <torch/torch.h>

namespace jeffreys::energy {

torch::Tensor EnergyImpl::log_prob(const torch::Tensor& x, const torch::Tensor& log_z, const torch::Tensor& context) {
  return -energy(x, context) - log_z;
}

MLPEnergyImpl::MLPEnergyImpl(MLPEnergyOptions options_) : options(std::move(options_)) {
  TORCH_CHECK(options.features() >= 1, "MLPEnergy: features must be >= 1");
  TORCH_CHECK(options.embedding_features() >= 0, "MLPEnergy: embedding_features must be >= 0");
  TORCH_CHECK(options.embedding_features() == 0 || options.context_features() > 0,
              "MLPEnergy: a context embedding needs context_features > 0");
  const bool embed = options.embedding_features() > 0;
  net = register_module("net", nn::MLP(nn::MLPOptions(options.features(), 1)
                                           .hidden(options.hidden())
                                           .depth(options.depth())
                                           .context_features(embed ? options.embedding_features()
                                                                   : options.context_features())
                                           .activation(options.activation())));
  if (embed)
    embedding = register_module("embedding", nn::MLP(nn::MLPOptions(options.context_features(), options.embedding_features())
                                                         .hidden(options.embedding_hidden())
                                                         .depth(options.embedding_depth())
                                                         .activation(options.activation())));
}

torch::Tensor MLPEnergyImpl::energy(const torch::Tensor& x, const torch::Tensor& context) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == options.features(), "MLPEnergy: input must have shape [batch, ",
              options.features(), "], got ", x.sizes());
  TORCH_CHECK(context.defined() == (options.context_features() > 0),
              options.context_features() > 0 ? "MLPEnergy: this energy needs a context"
                                              : "MLPEnergy: this energy is unconditional but a context was given");
  return net->forward(x, embedding && context.defined() ? embedding->forward(context) : context).squeeze(-1);
}

}  // namespace jeffreys::energy
