#pragma once
/// The eight simulation-based inference tasks of the sbibm benchmark (Lueckmann et al., AISTATS 2021),
/// re-implemented from ../shared/sbibm/TASKS.md: a prior over parameters θ and a stochastic simulator
/// x ~ p(x | θ), so that posterior estimators can be trained on (θ, x) pairs and scored against
/// sbibm's reference posterior samples (metrics/c2st.h).
///
/// | name | dim θ | dim x | prior | analytic posterior |
/// |---|---|---|---|---|
/// | `two_moons` | 2 | 2 | U(-1, 1)² | no |
/// | `gaussian_linear` | 10 | 10 | N(0, 0.1·I) | Gaussian: N(x/2, 0.05·I) |
/// | `gaussian_linear_uniform` | 10 | 10 | U(-1, 1)¹⁰ | N(x, 0.1·I) truncated to the box |
/// | `slcp` | 5 | 8 | U(-3, 3)⁵ | no |
/// | `gaussian_mixture` | 2 | 2 | U(-10, 10)² | ½ N(x, I) + ½ N(x, 0.01·I) truncated to the box |
/// | `bernoulli_glm` | 10 | 10 | N(0, B), B⁻¹ the smoothness precision | no |
/// | `sir` | 2 | 10 | LogNormal((log 0.4, log 0.125), (0.5, 0.2)) | no |
/// | `lotka_volterra` | 4 | 20 | LogNormal((-0.125, -3, -0.125, -3), 0.5) | no |
///
/// Everything is float64 on the CPU. Inputs may be any floating dtype and device; they are moved to
/// CPU float64. Randomness comes only from the at::Generator passed in (a CPU generator), so the same
/// generator state gives the same draws.
///
/// The two ODE tasks are solved with Boost.Odeint's adaptive Dormand-Prince 5(4) stepper, stepping
/// onto every reported time exactly (no interpolation), with relative tolerance 1e-8 and absolute
/// tolerance 1e-6 people (sir) or 1e-12 (lotka_volterra, whose populations are reported down to
/// 1e-10); sbibm used Julia's adaptive solver at its default, looser tolerances (1e-3 relative), so
/// our trajectories are the more accurate of the two. A solve that fails (more than 50,000 steps
/// between two reported times, or a non-finite state) gives a row of NaN, as in sbibm; callers drop
/// such rows. The ODE solves of a batch run in parallel over LibTorch's intra-op threads.
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace jeffreys::simulators {

/// A benchmark task: prior, simulator and, where known, the exact posterior.
class Task {
 public:
  virtual ~Task() = default;
  /// The name make_task knows it by (sbibm's name).
  virtual std::string name() const = 0;
  virtual int64_t parameter_dim() const = 0;
  virtual int64_t data_dim() const = 0;

  /// n prior draws [n, dim θ] (float64, CPU).
  virtual torch::Tensor sample_prior(int64_t n, at::Generator generator) const = 0;
  /// The normalised prior log-density of `theta` [n, dim θ], float64 [n]; -inf outside the support.
  virtual torch::Tensor prior_log_prob(const torch::Tensor& theta) const = 0;
  /// Whether each row of `theta` [n, dim θ] is in the prior's support: bool [n]. Posterior samples
  /// outside it are rejected, as sbibm's NPE does. Boxes are closed; log-normal priors need θ > 0.
  virtual torch::Tensor in_support(const torch::Tensor& theta) const = 0;
  /// One simulation per row of `theta` [n, dim θ]: data [n, dim x] (float64, CPU). Rows whose
  /// simulation failed (ODE tasks only) are NaN.
  virtual torch::Tensor simulate(const torch::Tensor& theta, at::Generator generator) const = 0;

  /// Whether the posterior for one observation is known in closed form; then sample_posterior and
  /// posterior_log_prob work, and otherwise they throw std::logic_error.
  virtual bool has_analytic_posterior() const { return false; }
  /// n exact draws [n, dim θ] from p(θ | x_o) for one observation `x_o` ([dim x] or [1, dim x]);
  /// truncated ones coordinate by coordinate by the inverse CDF (exact, no rejection loop).
  virtual torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator generator) const;
  /// The normalised log p(θ | x_o) of `theta` [n, dim θ], float64 [n]; -inf outside the prior's support.
  virtual torch::Tensor posterior_log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) const;
};

/// Builds a task by name; throws std::invalid_argument naming the unknown name and listing the known ones.
std::unique_ptr<Task> make_task(const std::string& name);

/// The names make_task knows, in TASKS.md's order.
std::vector<std::string> task_names();

/// bernoulli_glm's fixed input stimulus I_t, t = 0..99, float64 [100]: numpy's
/// RandomState(42).randn(100), regenerated here (Mersenne Twister, seeded as numpy's legacy seeding
/// does, and numpy's polar Box-Muller), so the task needs no data file.
torch::Tensor bernoulli_glm_stimulus();

/// The noise-free ODE solutions behind the two ODE tasks, for checks and plots.
/// sir: (S, I, R) at `days` for each row (β, γ) of `theta`: float64 [n, days.size(), 3], N = 10⁶,
/// initial (N - 1, 1, 0). `days` must be increasing and >= 0.
torch::Tensor sir_trajectory(const torch::Tensor& theta, const std::vector<double>& days);
/// lotka_volterra: (X, Y) at `times` for each row (α, β, γ, δ) of `theta`: float64
/// [n, times.size(), 2], initial (30, 1). `times` must be increasing and >= 0.
torch::Tensor lotka_volterra_trajectory(const torch::Tensor& theta, const std::vector<double>& times);

}  // namespace jeffreys::simulators
