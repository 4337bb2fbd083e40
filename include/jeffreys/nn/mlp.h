#pragma once
/// Fully connected network used as coupling conditioner and as energy function; an optional context
/// vector is joined onto the input (zuko's convention), so conditional models need no other class.
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "jeffreys/nn/activation.h"

namespace jeffreys::nn {

struct MLPOptions {
  MLPOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  /// Width of every hidden layer.
  TORCH_ARG(int64_t, hidden) = 128;
  /// Number of hidden layers.
  TORCH_ARG(int64_t, depth) = 2;
  TORCH_ARG(int64_t, context_features) = 0;
  TORCH_ARG(Activation, activation) = Activation::silu;
  /// Start the output layer at zero (a transform then starts as the identity).
  TORCH_ARG(bool, zero_last) = false;
  /// Use the fused Linear+SiLU node (fast; first derivatives only). Networks differentiated twice,
  /// such as a WGAN-GP critic, need false.
  TORCH_ARG(bool, fused) = true;
};

/// in(+context) -> [hidden, act] x depth -> out.
class MLPImpl : public torch::nn::Cloneable<MLPImpl> {
 public:
  explicit MLPImpl(MLPOptions options);
  void reset() override;
  /// `x`: [B, in]; `context`: [B, context_features] or undefined. Returns [B, out].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {});

  MLPOptions options;
  torch::nn::ModuleList layers;

 private:
  std::vector<torch::nn::Linear> linears_;
};
TORCH_MODULE(MLP);

/// The learned context embedding of conditional flows and energies: context_features -> [hidden,
/// activation] x depth -> features, trained with its model. An empty holder when features is 0;
/// bad sizes raise an error that starts with `who`.
MLP context_embedding(const char* who, int64_t context_features, int64_t features, int64_t hidden, int64_t depth,
                      Activation activation);

}  // namespace jeffreys::nn
