#pragma once
/// Parameters and gradients packed into one contiguous buffer per model, and Adam over it.
/// With dozens of small tensors, a per-tensor optimiser spends its time dispatching; one flat
/// buffer makes Adam a handful of vector operations, gradient clipping one norm, and a future
/// all-reduce one call.
#include <torch/types.h>

#include <vector>

namespace jeffreys::train {

class FlatParameters {
 public:
  FlatParameters() = default;
  /// Rebinds every parameter (same dtype and device) to a view of one buffer, and its gradient to
  /// a view of another, which backward then accumulates into in place.
  explicit FlatParameters(const std::vector<torch::Tensor>& params);
  torch::Tensor& values() { return values_; }
  torch::Tensor& grads() { return grads_; }
  const torch::Tensor& values() const { return values_; }
  const torch::Tensor& grads() const { return grads_; }
  void zero_grad();
  int64_t numel() const { return values_.defined() ? values_.numel() : 0; }
  /// Checks that the parameters still alias the buffers (e.g. not replaced by a module load).
  bool intact() const;

 private:
  std::vector<torch::Tensor> params_;
  torch::Tensor values_, grads_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  /// L2 penalty added to the gradient, as torch.optim.Adam's weight_decay.
  double weight_decay = 0.0;
};

/// torch.optim.Adam's update, on a FlatParameters.
class FlatAdam {
 public:
  FlatAdam() = default;
  FlatAdam(FlatParameters* params, AdamOptions options);
  /// One update with learning rate `lr` (the schedule's value for this step).
  void step(double lr);
  const AdamOptions& options() const { return options_; }

  torch::Tensor exp_avg, exp_avg_sq;
  int64_t step_count = 0;

 private:
  FlatParameters* params_ = nullptr;
  AdamOptions options_;
};

}  // namespace jeffreys::train
