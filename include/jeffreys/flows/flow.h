#pragma once
/// A normalizing flow: a stack of transforms over a standard normal base, with exact log-density
/// and exact sampling; the main model p_θ of the method. Every call takes an optional context.
#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "jeffreys/nn/mlp.h"
#include "jeffreys/transforms/transform.h"

namespace jeffreys::flows {

/// log N(z; 0, I) summed over the last dimension.
torch::Tensor standard_normal_log_prob(const torch::Tensor& z);

class FlowImpl : public torch::nn::Module {
 public:
  /// Transforms are applied in order in the x -> z direction. A defined `embedding` maps the
  /// context ([B, context_features]) to what the transforms are conditioned on; it trains with the flow.
  FlowImpl(int64_t features, int64_t context_features, std::vector<transforms::TransformPtr> transforms,
           nn::MLP embedding = nullptr);

  /// log p(x | context), shape [B]. `context`: [B, context_features] or undefined.
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& context = {});
  /// n samples; a defined `context` must have n rows (one sample per row).
  torch::Tensor sample(int64_t n, const torch::Tensor& context = {},
                       c10::optional<at::Generator> generator = c10::nullopt);
  /// Samples and their exact log-density in one pass: {x [n, D], log p(x) [n]}.
  std::pair<torch::Tensor, torch::Tensor> sample_and_log_prob(int64_t n, const torch::Tensor& context = {},
                                                              c10::optional<at::Generator> generator = c10::nullopt);
  /// k samples for each of the B rows of `context`: row j*B + i is drawn given context i. The same
  /// draws as sample_and_log_prob(k * B, context.repeat({k, 1})), but the embedding runs on B rows.
  std::pair<torch::Tensor, torch::Tensor> sample_and_log_prob_per_context(
      int64_t k, const torch::Tensor& context, c10::optional<at::Generator> generator = c10::nullopt);
  /// The same two from given standard-normal draws `z` ([n, D]; per context: [k * B, D], row j*B + i
  /// for context i): data-parallel ranks each transform their slice of one shared draw.
  std::pair<torch::Tensor, torch::Tensor> sample_and_log_prob_from_noise(const torch::Tensor& z,
                                                                         const torch::Tensor& context = {});
  std::pair<torch::Tensor, torch::Tensor> sample_and_log_prob_per_context_from_noise(const torch::Tensor& z,
                                                                                     const torch::Tensor& context);
  /// x -> z through every transform: {z, log|det dz/dx|}.
  transforms::TransformResult forward(const torch::Tensor& x, const torch::Tensor& context = {});
  /// z -> x: {x, log|det dx/dz|}.
  transforms::TransformResult inverse(const torch::Tensor& z, const torch::Tensor& context = {});

  int64_t features() const { return features_; }
  int64_t context_features() const { return context_features_; }
  const std::vector<transforms::TransformPtr>& transforms() const { return transforms_; }
  /// The learned context embedding, or an empty holder.
  const nn::MLP& embedding() const { return embedding_; }
  /// dtype and device of the model (a zero-size buffer that follows `to()`).
  torch::TensorOptions tensor_options() const { return reference_.options(); }

 private:
  void check_context(const torch::Tensor& context, int64_t rows) const;
  /// The context the transforms see: embedded when the flow has an embedding.
  torch::Tensor conditioner_context(const torch::Tensor& context);
  /// z -> x given the context the transforms see (already embedded).
  transforms::TransformResult inverse_embedded(const torch::Tensor& z, const torch::Tensor& c);
  int64_t features_, context_features_;
  std::vector<transforms::TransformPtr> transforms_;
  nn::MLP embedding_{nullptr};
  torch::nn::ModuleList layers_;
  torch::Tensor reference_;
};
TORCH_MODULE(Flow);

}  // namespace jeffreys::flows
