#include "jeffreys/functional/affine.h"

#include <torch/torch.h>

namespace jeffreys::functional {
namespace {
torch::Tensor log_scale(const torch::Tensor& raw, double clamp) {
  if (clamp <= 0) return raw;
  if (clamp == 1.0) return torch::tanh(raw);
  return torch::tanh(raw / clamp) * clamp;
}
}  // namespace

std::pair<torch::Tensor, torch::Tensor> affine_forward(const torch::Tensor& x, const torch::Tensor& raw_log_scale,
                                                       const torch::Tensor& shift, double clamp) {
  auto s = log_scale(raw_log_scale, clamp);
  return {torch::addcmul(shift, x, torch::exp(s)), s};
}

std::pair<torch::Tensor, torch::Tensor> affine_inverse(const torch::Tensor& z, const torch::Tensor& raw_log_scale,
                                                       const torch::Tensor& shift, double clamp) {
  auto s = log_scale(raw_log_scale, clamp);
  return {(z - shift) * torch::exp(-s), -s};
}

}  // namespace jeffreys::functional
