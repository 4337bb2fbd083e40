#pragma once
/// Joint training of the flow (main model) and the energy model (proxy) by primal-dual updates.
/// A step is split in two so it can later be distributed: compute_gradients (batch -> gradients in
/// flat buffers + term estimates; parameters untouched) and apply (optimiser + dual step), between
/// which gradients and estimates may be all-reduced across processes.
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>

#include "jeffreys/constrained/primal_dual.h"
#include "jeffreys/divergence/terms.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/flow.h"
#include "jeffreys/train/errors.h"
#include "jeffreys/train/flat_adam.h"
#include "jeffreys/train/schedule.h"
#include "jeffreys/train/step_trainer.h"

namespace jeffreys::distributed {
class Communicator;
}

namespace jeffreys::train {

struct OptimizerOptions {
  AdamOptions adam{};
  Schedule schedule{};
  /// Rescale the model's gradient to this global norm when above it; 0 disables clipping.
  double clip_grad_norm = 0.0;
};

struct TrainerOptions {
  int64_t batch_size = 256;
  /// M flow samples (unconditional) or K per context row (conditional) for log Ẑ and R.
  int64_t flow_samples = divergence::TermsRequest().flow_samples;
  /// Conditional: P and R on this many random rows of each batch (F on all); 0: every row.
  int64_t proxy_rows = 0;
  OptimizerOptions main{}, proxy{};
  /// A term whose magnitude exceeds this stops training (as do NaN and infinity).
  double divergence_threshold = 1e8;
  uint64_t seed = 0;
};

/// Everything one step measured; the inputs of apply().
struct StepEstimates {
  int64_t step = 0;
  std::map<std::string, double> terms;  ///< F, P, R (those computed)
  double loss = 0;                      ///< Lagrangian value
  double log_z = 0, ess = 0;
  double grad_norm_main = 0, grad_norm_proxy = 0;  ///< before clipping
};

class Trainer : public StepTrainer {
 public:
  /// `energy` may be null for methods that use only F (mle-flow).
  Trainer(flows::Flow flow, energy::EnergyPtr energy, constrained::Formulation formulation, TrainerOptions options);
  // The optimisers point into this object's parameter buffers.
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Data parallel: from now on every rank passes the same whole batch to step (step_on: the same
  /// data; its generator draws the same indices everywhere) and computes its block of the rows and
  /// of the flow samples; the term estimates and the gradients are reduced, so every rank holds the
  /// same parameters and duals, and N ranks compute what one process would. Copies rank 0's
  /// parameters to every rank. batch_size must be at least the number of ranks.
  void set_communicator(std::shared_ptr<distributed::Communicator> communicator);

  /// Zeroes and fills the flat gradient buffers from one batch; throws TrainingDiverged.
  StepEstimates compute_gradients(const torch::Tensor& x, const torch::Tensor& context = {});
  /// Clips, takes the Adam steps, updates slacks and duals, advances the step counter.
  void apply(const StepEstimates& estimates);
  /// compute_gradients + apply.
  StepEstimates step(const torch::Tensor& x, const torch::Tensor& context = {});
  /// Draws a batch (with replacement) from `data` [N, D] with the trainer's generator, then steps.
  StepEstimates step_on(const torch::Tensor& data, const torch::Tensor& context = {});

  /// StepTrainer: step_on, reported as F, P, R (NaN where the formulation has no such term), the
  /// Lagrangian `loss`, `lambda_<i>` and `slack_<i>` of every constraint, and `ess` (NaN without a proxy).
  std::map<std::string, double> step_metrics(const torch::Tensor& data) override;
  std::vector<std::string> columns() const override;

  /// Whole training state: both models' parameters and buffers, both optimisers, duals, step, RNG.
  /// Written atomically, so an interruption never leaves a partial file at `path`.
  void save(const std::string& path) const override;
  /// Restores a state written by save(); throws CheckpointError on mismatch or a bad file.
  void load(const std::string& path) override;

  flows::Flow& flow() { return flow_; }
  energy::EnergyPtr energy() { return energy_; }
  constrained::PrimalDual& primal_dual() { return primal_dual_; }
  const TrainerOptions& options() const { return options_; }
  int64_t step_count() const override { return step_; }
  /// Flat gradient buffers, for all-reduce between compute_gradients and apply.
  torch::Tensor& main_grads() { return main_params_.grads(); }
  torch::Tensor& proxy_grads() { return proxy_params_.grads(); }
  c10::optional<at::Generator> generator() const { return generator_; }
  divergence::TermsRequest terms_request() const { return request_; }

 private:
  void check(const std::string& term, double value) const;
  /// compute_gradients across ranks (set_communicator with more than one rank).
  StepEstimates compute_gradients_shared(const torch::Tensor& x, const torch::Tensor& context);
  /// Backward pass of the Lagrangian of `terms` (one per model when they weight a term differently);
  /// returns the main model's loss.
  torch::Tensor backward(const std::map<std::string, torch::Tensor>& terms);
  /// Across ranks, sums the gradients; then their norms into `est`; throws TrainingDiverged if not finite.
  void finish_gradients(StepEstimates& est);
  std::shared_ptr<distributed::Communicator> comm_;
  flows::Flow flow_;
  energy::EnergyPtr energy_;
  constrained::PrimalDual primal_dual_;
  TrainerOptions options_;
  divergence::TermsRequest request_;
  FlatParameters main_params_, proxy_params_;
  FlatAdam main_opt_, proxy_opt_;
  c10::optional<at::Generator> generator_;
  int64_t step_ = 0;
};

}  // namespace jeffreys::train
