#include "jeffreys/nn/mlp.h"

#include <torch/torch.h>

#include "jeffreys/nn/fused_linear.h"

namespace jeffreys::nn {

MLPImpl::MLPImpl(MLPOptions options_) : options(std::move(options_)) { reset(); }

void MLPImpl::reset() {
  TORCH_CHECK(options.in_features() + options.context_features() >= 1, "MLP: in_features + context_features must be >= 1");
  TORCH_CHECK(options.out_features() >= 1, "MLP: out_features must be >= 1, got ", options.out_features());
  TORCH_CHECK(options.hidden() >= 1, "MLP: hidden must be >= 1, got ", options.hidden());
  TORCH_CHECK(options.depth() >= 0, "MLP: depth must be >= 0, got ", options.depth());
  layers = register_module("layers", torch::nn::ModuleList());
  linears_.clear();
  int64_t in = options.in_features() + options.context_features();
  for (int64_t l = 0; l <= options.depth(); ++l) {
    const int64_t out = l == options.depth() ? options.out_features() : options.hidden();
    torch::nn::Linear lin(torch::nn::LinearOptions(in, out));
    layers->push_back(lin);
    linears_.push_back(lin);
    in = out;
  }
  if (options.zero_last()) {
    torch::NoGradGuard g;
    linears_.back()->weight.zero_();
    linears_.back()->bias.zero_();
  }
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  torch::Tensor h = context.defined() ? torch::cat({x, context}, -1) : x;
  const size_t last = linears_.size() - 1;
  for (size_t l = 0; l < last; ++l) {
    h = linear_activation(h, linears_[l]->weight, linears_[l]->bias, options.activation(), options.fused());
  }
  return linear(h, linears_[last]->weight, linears_[last]->bias, options.fused());
}

MLP context_embedding(const char* who, int64_t context_features, int64_t features, int64_t hidden, int64_t depth,
                      Activation activation) {
  TORCH_CHECK(features >= 0, who, ": embedding_features must be >= 0, got ", features);
  if (features == 0) return MLP(nullptr);
  TORCH_CHECK(context_features > 0, who, ": a context embedding needs context_features > 0");
  TORCH_CHECK(hidden >= 1 && depth >= 0, who, ": embedding_hidden must be >= 1 and embedding_depth >= 0");
  return MLP(MLPOptions(context_features, features).hidden(hidden).depth(depth).activation(activation));
}

}  // namespace jeffreys::nn
