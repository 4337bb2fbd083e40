#include "jeffreys/data/split.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace jeffreys::data {

Split split(const torch::Tensor& x, double validation_fraction, uint64_t seed) {
  if (!x.defined() || x.dim() < 1) throw std::invalid_argument("split: expected a tensor with rows (dim >= 1)");
  if (!(validation_fraction >= 0 && validation_fraction < 1))
    throw std::invalid_argument("split: validation_fraction must be in [0, 1), got " +
                                std::to_string(validation_fraction));
  const int64_t n = x.size(0);
  const auto n_val = static_cast<int64_t>(std::llround(validation_fraction * static_cast<double>(n)));
  if (validation_fraction > 0 && (n_val == 0 || n_val == n))
    throw std::invalid_argument("split: a validation fraction of " + std::to_string(validation_fraction) + " of " +
                                std::to_string(n) + " rows leaves the " + (n_val == 0 ? "validation" : "training") +
                                " part empty");
  auto order = torch::randperm(n, at::detail::createCPUGenerator(seed), torch::kLong).to(x.device());
  auto shuffled = x.index_select(0, order);
  return {shuffled.narrow(0, n_val, n - n_val), shuffled.narrow(0, 0, n_val)};
}

torch::Tensor random_subset(const torch::Tensor& x, int64_t n, uint64_t seed) {
  if (!x.defined() || x.dim() < 1) throw std::invalid_argument("random_subset: expected a tensor with rows (dim >= 1)");
  if (n < 1 || n > x.size(0))
    throw std::invalid_argument("random_subset: " + std::to_string(n) + " rows asked of " + std::to_string(x.size(0)));
  auto keep = torch::randperm(x.size(0), at::detail::createCPUGenerator(seed), torch::kLong).narrow(0, 0, n);
  return x.index_select(0, keep.to(x.device()));
}

}  // namespace jeffreys::data
