#include "jeffreys/transforms/autoregressive.h"

#include <torch/torch.h>

namespace jeffreys::transforms {

AutoregressiveImpl::AutoregressiveImpl(AutoregressiveOptions options_) : options(std::move(options_)) {
  TORCH_CHECK(options.features() >= 1, "Autoregressive: features must be >= 1");
  made = register_module("made", nn::MADE(nn::MADEOptions(options.features(), options.elementwise().params_per_dim())
                                              .hidden(options.hidden())
                                              .depth(options.depth())
                                              .context_features(options.context_features())
                                              .activation(options.activation())
                                              .zero_last(options.zero_init())
                                              .order(options.order())));
}

TransformResult AutoregressiveImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  return options.elementwise().forward(x, made->forward(x, context));
}

TransformResult AutoregressiveImpl::inverse(const torch::Tensor& z, const torch::Tensor& context) {
  // Pass k recomputes the parameters from x, whose first k-1 features (in the autoregressive order)
  // are already exact, so after `features` passes every feature is exact.
  auto x = torch::zeros_like(z);
  TransformResult out;
  for (int64_t k = 0; k < options.features(); ++k) {
    out = options.elementwise().inverse(z, made->forward(x, context));
    x = out.first;
  }
  return out;
}

}  // namespace jeffreys::transforms
