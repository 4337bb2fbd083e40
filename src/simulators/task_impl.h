#pragma once
// Internal to src/simulators: the pieces the task files share (priors, argument checks, factories).
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "jeffreys/simulators/task.h"

namespace jeffreys::simulators::detail {

/// `theta` as CPU float64 [n, d], contiguous; TORCH_CHECK names `who` and the shape it needs.
torch::Tensor as_rows(const torch::Tensor& theta, int64_t d, const std::string& who);
/// One observation `x_o` ([d] or [1, d]) as CPU float64 [d].
torch::Tensor as_observation(const torch::Tensor& x_o, int64_t d, const std::string& who);
void check_count(int64_t n, const std::string& who);

/// A prior: draws, normalised log-density, support.
class Prior {
 public:
  virtual ~Prior() = default;
  virtual torch::Tensor sample(int64_t n, at::Generator& g) const = 0;
  virtual torch::Tensor log_prob(const torch::Tensor& theta) const = 0;  // CPU float64 [n, d] in
  virtual torch::Tensor in_support(const torch::Tensor& theta) const = 0;
};

/// U(low, high)^d, the box closed.
std::unique_ptr<Prior> box_prior(int64_t d, double low, double high);
/// N(0, Σ) given its precision matrix Σ⁻¹ [d, d].
std::unique_ptr<Prior> gaussian_prior(const torch::Tensor& precision);
/// Independent log-normals: log θ_i ~ N(mu_i, sigma_i²).
std::unique_ptr<Prior> lognormal_prior(const torch::Tensor& mu, const torch::Tensor& sigma);

/// A task whose prior is one of the above; subclasses give the name, the dims and the simulator.
class PriorTask : public Task {
 public:
  PriorTask(std::string name, int64_t dim_theta, int64_t dim_x, std::unique_ptr<Prior> prior)
      : name_(std::move(name)), dim_theta_(dim_theta), dim_x_(dim_x), prior_(std::move(prior)) {}
  std::string name() const override { return name_; }
  int64_t parameter_dim() const override { return dim_theta_; }
  int64_t data_dim() const override { return dim_x_; }
  torch::Tensor sample_prior(int64_t n, at::Generator generator) const override;
  torch::Tensor prior_log_prob(const torch::Tensor& theta) const override;
  torch::Tensor in_support(const torch::Tensor& theta) const override;

 protected:
  torch::Tensor rows(const torch::Tensor& theta, const char* who) const {
    return as_rows(theta, dim_theta_, name_ + "." + who);
  }

 private:
  std::string name_;
  int64_t dim_theta_, dim_x_;
  std::unique_ptr<Prior> prior_;
};

std::unique_ptr<Task> make_two_moons();
std::unique_ptr<Task> make_gaussian_linear();
std::unique_ptr<Task> make_gaussian_linear_uniform();
std::unique_ptr<Task> make_slcp();
std::unique_ptr<Task> make_gaussian_mixture();
std::unique_ptr<Task> make_bernoulli_glm();
std::unique_ptr<Task> make_sir();
std::unique_ptr<Task> make_lotka_volterra();

}  // namespace jeffreys::simulators::detail
