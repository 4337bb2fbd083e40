#include "jeffreys/nn/made.h"

#include <torch/torch.h>

#include <cmath>

#include "jeffreys/functional/made_masks.h"

namespace jeffreys::nn {

MADEImpl::MADEImpl(MADEOptions options_) : options(std::move(options_)) { reset(); }

void MADEImpl::reset() {
  TORCH_CHECK(options.features() >= 1, "MADE: features must be >= 1");
  TORCH_CHECK(options.hidden() >= 1 && options.depth() >= 1, "MADE: needs hidden >= 1 and depth >= 1");
  std::vector<int64_t> hidden(options.depth(), options.hidden());
  auto m = functional::made_masks(options.features(), options.context_features(), hidden,
                                  options.params_per_feature(), options.order());
  weights.clear();
  biases.clear();
  masks.clear();
  for (size_t l = 0; l < m.size(); ++l) {
    const int64_t out = m[l].size(0), in = m[l].size(1);
    // PyTorch's Linear initialisation, so masked and plain networks start alike.
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    auto w = torch::empty({out, in}).uniform_(-bound, bound);
    auto b = torch::empty({out}).uniform_(-bound, bound);
    if (options.zero_last() && l + 1 == m.size()) {
      w.zero_();
      b.zero_();
    }
    weights.push_back(register_parameter("weight" + std::to_string(l), w));
    biases.push_back(register_parameter("bias" + std::to_string(l), b));
    masks.push_back(register_buffer("mask" + std::to_string(l), m[l]));
  }
}

torch::Tensor MADEImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  torch::Tensor h = context.defined() ? torch::cat({x, context}, -1) : x;
  const size_t last = weights.size() - 1;
  for (size_t l = 0; l <= last; ++l) {
    h = torch::addmm(biases[l], h, (weights[l] * masks[l]).t());
    if (l < last) h = activate(h, options.activation());
  }
  return h;
}

}  // namespace jeffreys::nn
