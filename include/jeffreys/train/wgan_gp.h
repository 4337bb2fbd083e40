#pragma once
/// WGAN-GP baseline (Gulrajani et al., "Improved Training of Wasserstein GANs", 2017,
/// arXiv:1704.00028) with a normalizing flow as generator, so that its NLL can be measured against
/// the Jeffreys method's (METHOD.md section 4). The command line's `method.name = "wgan-gp"`.
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "jeffreys/flows/flow.h"
#include "jeffreys/nn/mlp.h"
#include "jeffreys/train/flat_adam.h"
#include "jeffreys/train/schedule.h"
#include "jeffreys/train/trainer.h"

namespace jeffreys::train {

struct WganGpOptions {
  int64_t batch_size = 256;
  /// Critic updates per generator update.
  int64_t critic_steps = 5;
  /// λ of the gradient penalty E[(‖∇D(x̂)‖ - 1)²] on random interpolates x̂.
  double gp_weight = 10.0;
  /// Adam for generator and critic; the paper's β = (0.5, 0.9) by default.
  AdamOptions generator{1e-4, 0.5, 0.9}, critic{1e-4, 0.5, 0.9};
  /// Learning-rate schedule over generator steps, applied to both networks.
  Schedule schedule{};
  double divergence_threshold = 1e8;
  uint64_t seed = 0;
};

struct WganStep {
  int64_t step = 0;
  double critic_loss = 0;      ///< E D(fake) - E D(real) + λ GP, last critic update
  double wasserstein = 0;      ///< E D(real) - E D(fake), the critic's estimate
  double gradient_penalty = 0;
  double generator_loss = 0;   ///< -E D(G(z))
};

/// A critic for WGAN-GP: an MLP with scalar output whose layers support the double backward that
/// the gradient penalty needs.
nn::MLP make_critic(int64_t features, int64_t hidden = 128, int64_t depth = 2);

class WganGpTrainer : public StepTrainer {
 public:
  WganGpTrainer(flows::Flow generator, nn::MLP critic, WganGpOptions options);
  WganGpTrainer(const WganGpTrainer&) = delete;
  WganGpTrainer& operator=(const WganGpTrainer&) = delete;

  /// `critic_steps` critic updates on batches drawn from `data` [N, D], then one generator update.
  /// Throws TrainingDiverged on a non-finite or exploding loss.
  WganStep step_on(const torch::Tensor& data);
  /// StepTrainer: step_on, reported as critic_loss, wasserstein, gradient_penalty, generator_loss.
  std::map<std::string, double> step_metrics(const torch::Tensor& data) override;
  std::vector<std::string> columns() const override;
  int64_t step_count() const override { return step_; }
  const WganGpOptions& options() const { return options_; }
  flows::Flow& generator() { return generator_; }
  nn::MLP& critic() { return critic_; }

  /// Generator, critic, both optimisers, step and RNG, written atomically (as Trainer::save).
  void save(const std::string& path) const override;
  /// Restores a state written by save(); throws CheckpointError on mismatch or a bad file.
  void load(const std::string& path) override;

 private:
  void check(const std::string& what, double v) const;
  flows::Flow generator_;
  nn::MLP critic_;
  WganGpOptions options_;
  FlatParameters gen_params_, critic_params_;
  FlatAdam gen_opt_, critic_opt_;
  at::Generator rng_;
  int64_t step_ = 0;
};

}  // namespace jeffreys::train
