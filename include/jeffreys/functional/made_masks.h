#pragma once
/// MADE connectivity masks (Germain et al., "MADE", 2015, arXiv:1502.03509): output k of feature i
/// may depend only on inputs that come before i in the ordering, which makes the Jacobian triangular.
#include <torch/types.h>

#include <vector>

namespace jeffreys::functional {

/// Masks of a masked MLP with `features` autoregressive inputs, `context` inputs that every unit may
/// see, the given hidden widths, and `params_per_feature` outputs per feature laid out
/// parameter-major (output index = p * features + i). `order[i]` is feature i's position (1-based);
/// an empty `order` means 1..features. Mask l has shape [out_l, in_l] (LibTorch weight layout).
std::vector<torch::Tensor> made_masks(int64_t features, int64_t context, const std::vector<int64_t>& hidden,
                                      int64_t params_per_feature, std::vector<int64_t> order = {});

}  // namespace jeffreys::functional
