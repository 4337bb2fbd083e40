#include "jeffreys/transforms/permutation.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace jeffreys::transforms {

PermutationImpl::PermutationImpl(std::vector<int64_t> p) {
  const int64_t D = static_cast<int64_t>(p.size());
  std::vector<int64_t> sorted(p);
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < D; ++i) TORCH_CHECK(sorted[i] == i, "Permutation: not a permutation of 0..", D - 1);
  std::vector<int64_t> inv(D);
  for (int64_t i = 0; i < D; ++i) inv[p[i]] = i;
  perm = register_buffer("perm", torch::tensor(p, torch::kLong));
  inverse_perm = register_buffer("inverse_perm", torch::tensor(inv, torch::kLong));
}

std::shared_ptr<PermutationImpl> PermutationImpl::reversal(int64_t features) {
  std::vector<int64_t> p(features);
  std::iota(p.rbegin(), p.rend(), 0);
  return std::make_shared<PermutationImpl>(p);
}

std::shared_ptr<PermutationImpl> PermutationImpl::random(int64_t features, uint64_t seed) {
  std::vector<int64_t> p(features);
  std::iota(p.begin(), p.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(p.begin(), p.end(), rng);
  return std::make_shared<PermutationImpl>(p);
}

void PermutationImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  perm.set_data(perm.to(torch::kLong));
  inverse_perm.set_data(inverse_perm.to(torch::kLong));
}

void PermutationImpl::to(torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(dtype, non_blocking);
  perm.set_data(perm.to(torch::kLong));
  inverse_perm.set_data(inverse_perm.to(torch::kLong));
}

TransformResult PermutationImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  return {x.index_select(-1, perm), torch::zeros({x.size(0)}, x.options())};
}

TransformResult PermutationImpl::inverse(const torch::Tensor& z, const torch::Tensor&) {
  return {z.index_select(-1, inverse_perm), torch::zeros({z.size(0)}, z.options())};
}

}  // namespace jeffreys::transforms
