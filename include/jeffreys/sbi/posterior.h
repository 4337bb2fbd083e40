#pragma once
/// Neural posterior estimation with the library's methods: a conditional flow q(θ | x) (the main
/// model) and, for the joint methods, a conditional energy E(θ, x) (the proxy), trained on
/// simulated (θ, x) pairs as sbibm ran sbi's NPE: θ and x z-scored with training statistics, a
/// validation split, early stopping on the flow's validation NLL, the best state restored.
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "jeffreys/constrained/formulation.h"

namespace jeffreys::distributed {
class Communicator;
}

namespace jeffreys::sbi {

class PosteriorEstimator;

struct PosteriorOptions {
  /// A method name of constrained::parse_method_name (constrained/method_name.h), the grammar every
  /// command shares: "<preset>[-F<w>][-K<k>][-S<n>][-E<n>][-warm]", "npe" for "mle-flow". -K<k> sets
  /// flow_samples, -S<n> proxy_contexts, -E<n> embedding_features; -warm trains F and P until the stopping rule first
  /// fires, then restarts from that best state with the full formulation (the reverse term switched
  /// on once the proxy fits). Or a custom formulation.
  std::string method = "npe";
  bool custom_formulation = false;
  constrained::Formulation formulation;
  /// sbibm's NPE: neural spline flow, 5 coupling transforms, 10 bins, hidden size 50.
  int64_t layers = 5, hidden = 50, bins = 10;
  double bound = 3.0;
  int64_t energy_hidden = 50, energy_depth = 2;
  /// Learned context embedding: > 0 gives the flow (and the energy) an MLP x -> embedding_hidden x 2
  /// -> embedding_features in front of their conditioning (sbi's embedding_net). 0: the z-scored x.
  int64_t embedding_features = 0, embedding_hidden = 64;
  double lr = 5e-4, lr_proxy = 5e-4;
  /// min(batch_size, training pairs) pairs per step (sbibm: 10,000).
  int64_t batch_size = 10000;
  double validation_fraction = 0.1;
  /// Stop after this many epochs without a lower validation NLL (sbi: 20), or at max_epochs.
  int64_t patience = 20;
  int64_t max_epochs = 5000;
  /// K flow samples per context for log Ẑ(x) and R (joint methods only).
  int64_t flow_samples = 16;
  /// P and R (with their K samples each) on this many random contexts of each batch, F on all: an
  /// unbiased estimate at a fraction of the cost (-S<n>; 0: every context).
  int64_t proxy_contexts = 0;
  uint64_t seed = 0;
  /// Where the models train and sample; inputs and outputs stay on the CPU. Off the CPU, draws use
  /// the device's default generator, seeded from the generator each call is given.
  torch::Device device = torch::kCPU;
  /// Called after every `epoch_hook_every`-th epoch (and the last) with the epoch and the estimator
  /// in its current state, not the best one: the SBI run's oracle C2ST over training. 0: never.
  int64_t epoch_hook_every = 0;
  std::function<void(int64_t epoch, PosteriorEstimator&)> epoch_hook;
};

struct TrainingReport {
  int64_t epochs = 0, steps = 0, best_epoch = 0;
  /// "-warm" methods: the epoch at which the reverse term was switched on (0: never).
  int64_t switch_epoch = 0;
  double best_validation_nll = 0, seconds = 0;
  /// Ĥ(θ | x) of the z-scored training pairs (metrics/entropy.h) when the method's levels are
  /// entropy-corrected (-H); NaN otherwise.
  double data_entropy = std::numeric_limits<double>::quiet_NaN();
  /// The observations repeat (counts: sir), so Ĥ(θ | x) was estimated with x dequantised
  /// (metrics::conditional_knn_entropy says why that estimates the same quantity).
  bool data_entropy_dequantised = false;
  /// -Hc: the k-NN estimate and the Gaussian bound on H(θ | x) that data_entropy is the smaller of
  /// (metrics::cap_by_gaussian_bound); NaN otherwise.
  double data_entropy_knn = std::numeric_limits<double>::quiet_NaN();
  double data_entropy_gaussian_bound = std::numeric_limits<double>::quiet_NaN();
  /// -Hn: the neural Gaussian's cross-fitted bound (metrics::neural_gaussian_conditional_entropy_bound);
  /// data_entropy_gaussian_bound is then the smaller of it and the linear one. NaN otherwise.
  double data_entropy_neural_bound = std::numeric_limits<double>::quiet_NaN();
  bool stopped_early = false;
  /// Per epoch: training loss terms and validation NLL, for metrics.csv.
  std::vector<std::vector<double>> rows;
  std::vector<std::string> columns;
};

/// Keeps a sample's rows inside the prior's support: bool [n] for θ [n, dim θ].
using SupportTest = std::function<torch::Tensor(const torch::Tensor&)>;

/// How the proxy's posterior q_ψ(θ | x_o) ∝ exp(-E_ψ(θ, x_o)) is sampled: sampling-importance-
/// resampling (SIR) from flow draws, then, optionally, Metropolis-adjusted Langevin steps on
/// -E_ψ from each resampled draw (resample-move): SIR sets the modes' weights, the MCMC steps
/// replace SIR's duplicates, which a C2ST classifier tells apart once the weights degenerate.
struct ProxySampling {
  int64_t proposals = 100000;  ///< flow draws for SIR
  int64_t mala_steps = 0;      ///< 0: SIR alone
  /// Initial ε in z-scored θ units, adapted over the first half of the steps (energy/langevin.h).
  double mala_step_size = 0.01;
};

struct ProxySample {
  torch::Tensor theta;  ///< [n, dim θ], float64, original coordinates
  /// Kish's effective sample size of the SIR weights, (Σw)² / Σw², out of `proposals`.
  double ess = 0;
  /// The MALA steps' acceptance and final ε (NaN without MALA steps).
  double acceptance = std::numeric_limits<double>::quiet_NaN();
  double step_size = std::numeric_limits<double>::quiet_NaN();
};

class PosteriorEstimator {
 public:
  PosteriorEstimator(int64_t theta_dim, int64_t x_dim, PosteriorOptions options);
  ~PosteriorEstimator();
  PosteriorEstimator(const PosteriorEstimator&) = delete;
  PosteriorEstimator& operator=(const PosteriorEstimator&) = delete;

  /// Data parallel: every rank calls train with the same pairs (same seed, same simulations) and
  /// computes its block of each batch (trainer.h's set_communicator); every rank ends with the same
  /// models. A last batch of an epoch with fewer pairs than ranks is skipped.
  void set_communicator(std::shared_ptr<distributed::Communicator> communicator);

  /// Trains on pairs θ [n, dim θ], x [n, dim x] (rows with a non-finite x are dropped first).
  /// Throws train::TrainingDiverged on NaN or divergence.
  TrainingReport train(const torch::Tensor& theta, const torch::Tensor& x, std::ostream* progress = nullptr);

  /// n draws of the flow's posterior at one observation x_o ([dim x] or [1, dim x]), float64;
  /// draws outside `support` are rejected and redrawn, as sbibm's NPE does. Throws if fewer than
  /// 1 in 1000 draws land inside the support.
  torch::Tensor sample(const torch::Tensor& x_o, int64_t n, at::Generator generator, const SupportTest& support = {});
  /// n draws of the proxy's posterior: sampling-importance-resampling from `proposals` flow draws
  /// at x_o, weighted by exp(-E(θ, x_o)) / q(θ | x_o), the same rejection outside the support.
  torch::Tensor sample_proxy(const torch::Tensor& x_o, int64_t n, int64_t proposals, at::Generator generator,
                             const SupportTest& support = {});
  /// n draws of the proxy's posterior by `sampling` (SIR, then MALA steps), with the sampler's
  /// diagnostics; MALA proposals outside `support` are rejected.
  ProxySample sample_proxy(const torch::Tensor& x_o, int64_t n, const ProxySampling& sampling, at::Generator generator,
                           const SupportTest& support = {});
  /// log q(θ | x_o) in the original (not z-scored) coordinates, float64 [n].
  torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& x_o);

  bool has_proxy() const;
  const PosteriorOptions& options() const { return options_; }
  /// The formulation trained (the preset or the custom one).
  const constrained::Formulation& formulation() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
  PosteriorOptions options_;
};

}  // namespace jeffreys::sbi
