#include "jeffreys/functional/made_masks.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

namespace jeffreys::functional {

std::vector<torch::Tensor> made_masks(int64_t features, int64_t context, const std::vector<int64_t>& hidden,
                                      int64_t params_per_feature, std::vector<int64_t> order) {
  TORCH_CHECK(features >= 1, "made_masks: features must be >= 1, got ", features);
  TORCH_CHECK(params_per_feature >= 1, "made_masks: params_per_feature must be >= 1");
  if (order.empty()) {
    order.resize(features);
    std::iota(order.begin(), order.end(), 1);
  }
  TORCH_CHECK(static_cast<int64_t>(order.size()) == features, "made_masks: order has ", order.size(),
              " entries, expected ", features);
  // Degrees: an input's degree is its position; context inputs get degree 0 (visible to all units).
  std::vector<int64_t> in_deg(order.begin(), order.end());
  in_deg.insert(in_deg.end(), context, 0);
  std::vector<torch::Tensor> masks;
  // Hidden degrees cycle over 1..D-1; with a context they start at 0: such units see only the
  // context, and they are the only way the outputs of the first feature in the order (which may see
  // no feature) can depend on the context.
  const int64_t min_hidden_deg = context > 0 ? 0 : 1;
  const int64_t max_hidden_deg = std::max<int64_t>(1, features - 1);
  const int64_t hidden_degs = context > 0 ? features : max_hidden_deg;
  for (int64_t width : hidden) {
    std::vector<int64_t> out_deg(width);
    for (int64_t j = 0; j < width; ++j) out_deg[j] = j % hidden_degs + min_hidden_deg;
    auto m = torch::zeros({width, static_cast<int64_t>(in_deg.size())});
    auto acc = m.accessor<float, 2>();
    for (int64_t j = 0; j < width; ++j)
      for (size_t i = 0; i < in_deg.size(); ++i) acc[j][i] = out_deg[j] >= in_deg[i] ? 1.f : 0.f;
    masks.push_back(m);
    in_deg = out_deg;
  }
  // Outputs for feature i see hidden units of strictly smaller degree; without hidden layers the
  // inputs themselves (context, degree 0, stays visible).
  const int64_t outputs = params_per_feature * features;
  auto m = torch::zeros({outputs, static_cast<int64_t>(in_deg.size())});
  auto acc = m.accessor<float, 2>();
  for (int64_t p = 0; p < params_per_feature; ++p)
    for (int64_t i = 0; i < features; ++i)
      for (size_t k = 0; k < in_deg.size(); ++k) acc[p * features + i][k] = order[i] > in_deg[k] ? 1.f : 0.f;
  masks.push_back(m);
  return masks;
}

}  // namespace jeffreys::functional
