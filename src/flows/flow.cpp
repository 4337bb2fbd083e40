#include "jeffreys/flows/flow.h"

#include <torch/torch.h>

#include <cmath>

namespace jeffreys::flows {

torch::Tensor standard_normal_log_prob(const torch::Tensor& z) {
  const double c = -0.5 * static_cast<double>(z.size(-1)) * std::log(2.0 * M_PI);
  return z.square().sum(-1) * -0.5 + c;
}

FlowImpl::FlowImpl(int64_t features, int64_t context_features, std::vector<transforms::TransformPtr> transforms,
                   nn::MLP embedding)
    : features_(features), context_features_(context_features), transforms_(std::move(transforms)) {
  TORCH_CHECK(features >= 1, "Flow: features must be >= 1, got ", features);
  TORCH_CHECK(context_features >= 0, "Flow: context_features must be >= 0");
  layers_ = register_module("transforms", torch::nn::ModuleList());
  for (auto& t : transforms_) {
    TORCH_CHECK(t != nullptr, "Flow: null transform");
    layers_->push_back(t);
  }
  reference_ = register_buffer("reference", torch::zeros({0}));
  if (embedding) {
    TORCH_CHECK(context_features > 0, "Flow: a context embedding needs context_features > 0");
    TORCH_CHECK(embedding->options.in_features() == context_features && embedding->options.context_features() == 0,
                "Flow: the context embedding must take ", context_features, " features, got ",
                embedding->options.in_features());
    embedding_ = register_module("embedding", embedding);
  }
}

torch::Tensor FlowImpl::conditioner_context(const torch::Tensor& context) {
  return embedding_ && context.defined() ? embedding_->forward(context) : context;
}

void FlowImpl::check_context(const torch::Tensor& context, int64_t rows) const {
  if (context_features_ == 0) {
    TORCH_CHECK(!context.defined(), "Flow: this flow is unconditional but a context was given");
    return;
  }
  TORCH_CHECK(context.defined(), "Flow: this flow needs a context with ", context_features_, " features");
  TORCH_CHECK(context.dim() == 2 && context.size(0) == rows && context.size(1) == context_features_,
              "Flow: context must have shape [", rows, ", ", context_features_, "], got ", context.sizes());
}

transforms::TransformResult FlowImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == features_, "Flow: input must have shape [batch, ", features_, "], got ",
              x.sizes());
  check_context(context, x.size(0));
  const auto c = conditioner_context(context);
  torch::Tensor z = x, ladj;
  for (auto& t : transforms_) {
    auto [out, l] = t->forward(z, c);
    z = out;
    ladj = ladj.defined() ? ladj + l : l;
  }
  if (!ladj.defined()) ladj = torch::zeros({x.size(0)}, x.options());
  return {z, ladj};
}

transforms::TransformResult FlowImpl::inverse(const torch::Tensor& z, const torch::Tensor& context) {
  check_context(context, z.size(0));
  return inverse_embedded(z, conditioner_context(context));
}

transforms::TransformResult FlowImpl::inverse_embedded(const torch::Tensor& z, const torch::Tensor& c) {
  torch::Tensor x = z, ladj;
  for (auto it = transforms_.rbegin(); it != transforms_.rend(); ++it) {
    auto [out, l] = (*it)->inverse(x, c);
    x = out;
    ladj = ladj.defined() ? ladj + l : l;
  }
  if (!ladj.defined()) ladj = torch::zeros({z.size(0)}, z.options());
  return {x, ladj};
}

torch::Tensor FlowImpl::log_prob(const torch::Tensor& x, const torch::Tensor& context) {
  auto [z, ladj] = forward(x, context);
  return standard_normal_log_prob(z) + ladj;
}

std::pair<torch::Tensor, torch::Tensor> FlowImpl::sample_and_log_prob(int64_t n, const torch::Tensor& context,
                                                                      c10::optional<at::Generator> generator) {
  TORCH_CHECK(n >= 1, "Flow: number of samples must be >= 1, got ", n);
  return sample_and_log_prob_from_noise(torch::randn({n, features_}, generator, tensor_options()), context);
}

std::pair<torch::Tensor, torch::Tensor> FlowImpl::sample_and_log_prob_from_noise(const torch::Tensor& z,
                                                                                 const torch::Tensor& context) {
  TORCH_CHECK(z.dim() == 2 && z.size(1) == features_, "Flow: noise must be [n, ", features_, "], got ", z.sizes());
  auto [x, ladj] = inverse(z, context);
  return {x, standard_normal_log_prob(z) - ladj};
}

std::pair<torch::Tensor, torch::Tensor> FlowImpl::sample_and_log_prob_per_context(
    int64_t k, const torch::Tensor& context, c10::optional<at::Generator> generator) {
  TORCH_CHECK(k >= 1, "Flow: samples per context must be >= 1, got ", k);
  TORCH_CHECK(context.defined() && context.dim() == 2, "Flow: sample_and_log_prob_per_context needs a context [B, C]");
  return sample_and_log_prob_per_context_from_noise(
      torch::randn({k * context.size(0), features_}, generator, tensor_options()), context);
}

std::pair<torch::Tensor, torch::Tensor> FlowImpl::sample_and_log_prob_per_context_from_noise(
    const torch::Tensor& z, const torch::Tensor& context) {
  TORCH_CHECK(context.defined() && context.dim() == 2, "Flow: sample_and_log_prob_per_context needs a context [B, C]");
  const int64_t b = context.size(0);
  TORCH_CHECK(z.dim() == 2 && z.size(1) == features_ && b > 0 && z.size(0) % b == 0, "Flow: noise must be [k * ", b,
              ", ", features_, "], got ", z.sizes());
  check_context(context, b);
  const int64_t k = z.size(0) / b;
  auto c = conditioner_context(context);
  auto [x, ladj] = inverse_embedded(z, k == 1 ? c : c.repeat({k, 1}));
  return {x, standard_normal_log_prob(z) - ladj};
}

torch::Tensor FlowImpl::sample(int64_t n, const torch::Tensor& context, c10::optional<at::Generator> generator) {
  TORCH_CHECK(n >= 1, "Flow: number of samples must be >= 1, got ", n);
  auto z = torch::randn({n, features_}, generator, tensor_options());
  return inverse(z, context).first;
}

}  // namespace jeffreys::flows
