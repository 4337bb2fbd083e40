// The registry, the priors and the six tasks without an ODE (the ODE tasks are in ode_tasks.cpp).
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>

#include "jeffreys/simulators/task.h"
#include "task_impl.h"

namespace jeffreys::simulators {

namespace detail {

namespace {

constexpr double kLog2Pi = 1.8378770664093453;  // log(2π)
constexpr double kInf = std::numeric_limits<double>::infinity();

class BoxPrior : public Prior {
 public:
  BoxPrior(int64_t d, double low, double high) : d_(d), low_(low), high_(high) {}
  torch::Tensor sample(int64_t n, at::Generator& g) const override {
    return torch::rand({n, d_}, g, torch::kDouble).mul_(high_ - low_).add_(low_);
  }
  torch::Tensor log_prob(const torch::Tensor& theta) const override {
    const double inside = -static_cast<double>(d_) * std::log(high_ - low_);
    return torch::where(in_support(theta), torch::full({}, inside, torch::kDouble), torch::full({}, -kInf, torch::kDouble));
  }
  torch::Tensor in_support(const torch::Tensor& theta) const override {
    return theta.ge(low_).logical_and(theta.le(high_)).all(1);
  }

 private:
  int64_t d_;
  double low_, high_;
};

class GaussianPrior : public Prior {
 public:
  explicit GaussianPrior(const torch::Tensor& precision) : precision_(precision.to(torch::kDouble).contiguous()) {
    const auto chol_precision = torch::linalg_cholesky(precision_);
    // The covariance's Cholesky factor draws θ = L z; log det Σ⁻¹ = 2 Σ log diag(chol(Σ⁻¹)).
    chol_cov_ = torch::linalg_cholesky(torch::cholesky_inverse(chol_precision));
    const auto d = static_cast<double>(precision_.size(0));
    log_norm_ = chol_precision.diagonal().log().sum().item<double>() - 0.5 * d * kLog2Pi;
  }
  torch::Tensor sample(int64_t n, at::Generator& g) const override {
    return torch::randn({n, precision_.size(0)}, g, torch::kDouble).matmul(chol_cov_.t());
  }
  torch::Tensor log_prob(const torch::Tensor& theta) const override {
    return theta.matmul(precision_).mul(theta).sum(1).mul(-0.5).add(log_norm_);
  }
  torch::Tensor in_support(const torch::Tensor& theta) const override { return theta.isfinite().all(1); }

 private:
  torch::Tensor precision_, chol_cov_;
  double log_norm_ = 0;
};

class LogNormalPrior : public Prior {
 public:
  LogNormalPrior(const torch::Tensor& mu, const torch::Tensor& sigma)
      : mu_(mu.to(torch::kDouble)), sigma_(sigma.to(torch::kDouble)) {}
  torch::Tensor sample(int64_t n, at::Generator& g) const override {
    return torch::randn({n, mu_.size(0)}, g, torch::kDouble).mul_(sigma_).add_(mu_).exp_();
  }
  torch::Tensor log_prob(const torch::Tensor& theta) const override {
    const auto ok = in_support(theta);
    const auto log_t = theta.clamp_min(std::numeric_limits<double>::min()).log();
    const auto lp = (-log_t - sigma_.log() - 0.5 * kLog2Pi - (log_t - mu_).square() / (2 * sigma_.square())).sum(1);
    return torch::where(ok, lp, torch::full({}, -kInf, torch::kDouble));
  }
  torch::Tensor in_support(const torch::Tensor& theta) const override {
    return theta.gt(0).logical_and(theta.isfinite()).all(1);
  }

 private:
  torch::Tensor mu_, sigma_;
};

// log(Φ(b) - Φ(a)) for a <= b, taken in whichever tail keeps the difference accurate.
torch::Tensor log_normal_mass(const torch::Tensor& a, const torch::Tensor& b) {
  const auto upper = a.gt(0);
  return torch::where(upper, at::special_ndtr(-a) - at::special_ndtr(-b), at::special_ndtr(b) - at::special_ndtr(a)).log();
}

// z ~ N(0, 1) restricted to [a, b] (elementwise, same shapes) by the inverse CDF; an interval in the
// upper tail is mirrored into the lower one, where Φ keeps its relative precision.
torch::Tensor truncated_standard_normal(const torch::Tensor& a, const torch::Tensor& b, at::Generator& g) {
  const auto upper = a.gt(0);
  const auto lo = torch::where(upper, -b, a), hi = torch::where(upper, -a, b);
  const auto p_lo = at::special_ndtr(lo), p_hi = at::special_ndtr(hi);
  const auto u = torch::rand(a.sizes(), g, torch::kDouble);
  auto z = at::special_ndtri(p_lo + u * (p_hi - p_lo));
  z = torch::max(torch::min(z, hi), lo);  // rounding at the ends
  return torch::where(upper, -z, z);
}

// ---------------------------------------------------------------------------------------------
class TwoMoons : public PriorTask {
 public:
  TwoMoons() : PriorTask("two_moons", 2, 2, box_prior(2, -1, 1)) {}
  torch::Tensor simulate(const torch::Tensor& theta, at::Generator g) const override {
    const auto th = rows(theta, "simulate");
    const int64_t n = th.size(0);
    const auto a = (torch::rand({n}, g, torch::kDouble) - 0.5) * M_PI;  // U(-π/2, π/2)
    const auto r = torch::randn({n}, g, torch::kDouble) * 0.01 + 0.1;
    // The parameters rotated by -π/4; the first coordinate folds onto its absolute value, which is
    // what makes the posterior bimodal.
    const double c = std::cos(-M_PI / 4), s = std::sin(-M_PI / 4);
    const auto z0 = c * th.select(1, 0) - s * th.select(1, 1);
    const auto z1 = s * th.select(1, 0) + c * th.select(1, 1);
    return torch::stack({r * a.cos() + 0.25 - z0.abs(), r * a.sin() + z1}, 1);
  }
};

class GaussianLinear : public PriorTask {
 public:
  GaussianLinear() : PriorTask("gaussian_linear", 10, 10, gaussian_prior(torch::eye(10, torch::kDouble) / 0.1)) {}
  torch::Tensor simulate(const torch::Tensor& theta, at::Generator g) const override {
    const auto th = rows(theta, "simulate");
    return th + std::sqrt(0.1) * torch::randn(th.sizes(), g, torch::kDouble);
  }
  bool has_analytic_posterior() const override { return true; }
  // Prior precision 10·I plus likelihood precision 10·I: covariance 0.05·I, mean 0.05·10·x = x/2.
  torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator g) const override {
    check_count(n, "gaussian_linear.sample_posterior");
    const auto x = as_observation(x_o, 10, "gaussian_linear.sample_posterior");
    return torch::randn({n, 10}, g, torch::kDouble) * std::sqrt(0.05) + x / 2;
  }
  torch::Tensor posterior_log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) const override {
    const auto th = rows(theta, "posterior_log_prob");
    const auto x = as_observation(x_o, 10, "gaussian_linear.posterior_log_prob");
    return ((th - x / 2).square() / (-2 * 0.05) - 0.5 * std::log(2 * M_PI * 0.05)).sum(1);
  }
};

class GaussianLinearUniform : public PriorTask {
 public:
  GaussianLinearUniform() : PriorTask("gaussian_linear_uniform", 10, 10, box_prior(10, -1, 1)) {}
  torch::Tensor simulate(const torch::Tensor& theta, at::Generator g) const override {
    const auto th = rows(theta, "simulate");
    return th + kSigma * torch::randn(th.sizes(), g, torch::kDouble);
  }
  bool has_analytic_posterior() const override { return true; }
  // N(x, 0.1·I) restricted to [-1, 1]^10: independent truncated normals, drawn coordinate by
  // coordinate by the inverse CDF (exact, and no rejection loop however far x lies outside the box).
  torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator g) const override {
    check_count(n, "gaussian_linear_uniform.sample_posterior");
    const auto x = as_observation(x_o, 10, "gaussian_linear_uniform.sample_posterior").expand({n, 10});
    return x + kSigma * truncated_standard_normal((-1 - x) / kSigma, (1 - x) / kSigma, g);
  }
  torch::Tensor posterior_log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) const override {
    const auto th = rows(theta, "posterior_log_prob");
    const auto x = as_observation(x_o, 10, "gaussian_linear_uniform.posterior_log_prob");
    const double log_mass = log_normal_mass((-1 - x) / kSigma, (1 - x) / kSigma).sum().item<double>();
    const auto lp = ((th - x).square() / (-2 * kSigma * kSigma) - 0.5 * std::log(2 * M_PI * kSigma * kSigma)).sum(1) - log_mass;
    return torch::where(in_support(th), lp, torch::full({}, -kInf, torch::kDouble));
  }

 private:
  static constexpr double kSigma = 0.31622776601683794;  // √0.1
};

class Slcp : public PriorTask {
 public:
  Slcp() : PriorTask("slcp", 5, 8, box_prior(5, -3, 3)) {}
  torch::Tensor simulate(const torch::Tensor& theta, at::Generator g) const override {
    const auto th = rows(theta, "simulate");
    const int64_t n = th.size(0);
    const auto s1 = th.select(1, 2).square(), s2 = th.select(1, 3).square();
    const auto rho = th.select(1, 4).tanh();
    // S = [[s1² + ε, ρ s1 s2], [ρ s1 s2, s2² + ε]] with ε = 1e-6, by its 2×2 Cholesky factor.
    const auto l00 = (s1.square() + 1e-6).sqrt();
    const auto l10 = rho * s1 * s2 / l00;
    const auto l11 = (s2.square() + 1e-6 - l10.square()).clamp_min(0).sqrt();
    const auto z = torch::randn({n, 4, 2}, g, torch::kDouble);
    const auto z0 = z.select(2, 0), z1 = z.select(2, 1);
    const auto x0 = th.select(1, 0).unsqueeze(1) + l00.unsqueeze(1) * z0;
    const auto x1 = th.select(1, 1).unsqueeze(1) + l10.unsqueeze(1) * z0 + l11.unsqueeze(1) * z1;
    return torch::stack({x0, x1}, 2).reshape({n, 8});  // (x1, y1, x2, y2, ..., x4, y4)
  }
};

class GaussianMixture : public PriorTask {
 public:
  GaussianMixture() : PriorTask("gaussian_mixture", 2, 2, box_prior(2, -10, 10)) {}
  torch::Tensor simulate(const torch::Tensor& theta, at::Generator g) const override {
    const auto th = rows(theta, "simulate");
    const int64_t n = th.size(0);
    // One component per draw, shared by both coordinates: standard deviation 1 or 0.1, weight ½ each.
    const auto narrow = torch::rand({n}, g, torch::kDouble).lt(0.5);
    const auto scale = torch::where(narrow, torch::full({}, 0.1, torch::kDouble), torch::full({}, 1.0, torch::kDouble));
    return th + scale.unsqueeze(1) * torch::randn({n, 2}, g, torch::kDouble);
  }
  bool has_analytic_posterior() const override { return true; }
  // The likelihood is symmetric in x and θ and the prior flat, so the posterior is the same mixture
  // centred on x_o, restricted to the box. Each truncated component factorises over the
  // coordinates; a component is picked with probability w_k Z_k / Σ_j w_j Z_j (Z_k its mass in the
  // box), then drawn coordinate by coordinate by the inverse CDF: exact, no rejection.
  torch::Tensor sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator g) const override {
    check_count(n, "gaussian_mixture.sample_posterior");
    const auto x = as_observation(x_o, 2, "gaussian_mixture.sample_posterior");
    const auto log_z = component_log_mass(x);
    const double p_wide = 1.0 / (1.0 + std::exp(log_z[1] - log_z[0]));
    const auto wide = torch::rand({n}, g, torch::kDouble).lt(p_wide).unsqueeze(1);
    const auto sigma = torch::where(wide, torch::full({}, kSigma[0], torch::kDouble), torch::full({}, kSigma[1], torch::kDouble));
    const auto xe = x.expand({n, 2});
    return xe + sigma * truncated_standard_normal((-10 - xe) / sigma, (10 - xe) / sigma, g);
  }
  torch::Tensor posterior_log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) const override {
    const auto th = rows(theta, "posterior_log_prob");
    const auto x = as_observation(x_o, 2, "gaussian_mixture.posterior_log_prob");
    const auto log_z = component_log_mass(x);
    const double log_norm = std::log(0.5 * std::exp(log_z[0]) + 0.5 * std::exp(log_z[1]));
    const auto d2 = (th - x).square().sum(1);
    std::vector<torch::Tensor> comps;
    for (double s : kSigma) comps.push_back(std::log(0.5) - d2 / (2 * s * s) - std::log(2 * M_PI * s * s));
    const auto lp = torch::logsumexp(torch::stack(comps, 1), 1) - log_norm;
    return torch::where(in_support(th), lp, torch::full({}, -kInf, torch::kDouble));
  }

 private:
  static constexpr double kSigma[2] = {1.0, 0.1};
  // log of each component's mass inside [-10, 10]², centred on x.
  static std::array<double, 2> component_log_mass(const torch::Tensor& x) {
    std::array<double, 2> out{};
    for (int k = 0; k < 2; ++k) out[k] = log_normal_mass((-10 - x) / kSigma[k], (10 - x) / kSigma[k]).sum().item<double>();
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// bernoulli_glm: a generalised linear model of a spiking neuron driven by a fixed white-noise stimulus.

// Design matrix X [100, 10]: a column of ones (the offset), then the stimulus delayed by 0..8 steps
// (zero before the stimulus starts), so that ψ = X θ is the offset plus the filter h applied to I.
torch::Tensor glm_design_matrix() {
  const auto stimulus = bernoulli_glm_stimulus();
  auto x = torch::zeros({100, 10}, torch::kDouble);
  x.select(1, 0).fill_(1.0);
  for (int64_t j = 0; j < 9; ++j) x.select(1, j + 1).narrow(0, j, 100 - j).copy_(stimulus.narrow(0, 0, 100 - j));
  return x;
}

// The smoothness prior's precision: 0.5 for the offset; FᵀF for the filter with F = D·D + diag(√(j/9)),
// D the first-difference matrix (1 on the diagonal, -1 below it).
torch::Tensor glm_prior_precision() {
  const int64_t m = 9;
  const auto d = torch::eye(m, torch::kDouble) - torch::diag(torch::ones({m - 1}, torch::kDouble), -1);
  const auto f = d.matmul(d) + torch::diag((torch::arange(m, torch::kDouble) / static_cast<double>(m)).sqrt());
  auto p = torch::zeros({m + 1, m + 1}, torch::kDouble);
  p.index_put_({0, 0}, 0.5);
  p.narrow(0, 1, m).narrow(1, 1, m).copy_(f.t().matmul(f));
  return p;
}

class BernoulliGlm : public PriorTask {
 public:
  BernoulliGlm() : PriorTask("bernoulli_glm", 10, 10, gaussian_prior(glm_prior_precision())), design_(glm_design_matrix()) {}
  // Spikes y_t ~ Bernoulli(σ(ψ_t)); the summary Xᵀy = (spike count, spike-triggered sums of the
  // stimulus at lags 0..8) is sufficient for θ.
  torch::Tensor simulate(const torch::Tensor& theta, at::Generator g) const override {
    const auto th = rows(theta, "simulate");
    const auto p = th.matmul(design_.t()).sigmoid();
    return torch::bernoulli(p, g).matmul(design_);
  }

 private:
  torch::Tensor design_;
};

}  // namespace

torch::Tensor as_rows(const torch::Tensor& theta, int64_t d, const std::string& who) {
  TORCH_CHECK(theta.defined() && theta.dim() == 2 && theta.size(1) == d, who, ": expected [n, ", d, "], got ",
              theta.defined() ? theta.sizes() : at::IntArrayRef{});
  TORCH_CHECK(theta.is_floating_point(), who, ": expected a floating-point tensor, got ", theta.scalar_type());
  return theta.detach().to(torch::kCPU, torch::kDouble).contiguous();
}

torch::Tensor as_observation(const torch::Tensor& x_o, int64_t d, const std::string& who) {
  TORCH_CHECK(x_o.defined() && x_o.numel() == d && (x_o.dim() == 1 || (x_o.dim() == 2 && x_o.size(0) == 1)), who,
              ": expected one observation [", d, "] or [1, ", d, "], got ", x_o.defined() ? x_o.sizes() : at::IntArrayRef{});
  TORCH_CHECK(x_o.is_floating_point(), who, ": expected a floating-point tensor, got ", x_o.scalar_type());
  return x_o.detach().to(torch::kCPU, torch::kDouble).reshape({d}).contiguous();
}

void check_count(int64_t n, const std::string& who) {
  TORCH_CHECK(n >= 0, who, ": the number of samples must be >= 0, got ", n);
}

std::unique_ptr<Prior> box_prior(int64_t d, double low, double high) { return std::make_unique<BoxPrior>(d, low, high); }
std::unique_ptr<Prior> gaussian_prior(const torch::Tensor& precision) { return std::make_unique<GaussianPrior>(precision); }
std::unique_ptr<Prior> lognormal_prior(const torch::Tensor& mu, const torch::Tensor& sigma) {
  return std::make_unique<LogNormalPrior>(mu, sigma);
}

torch::Tensor PriorTask::sample_prior(int64_t n, at::Generator generator) const {
  check_count(n, name_ + ".sample_prior");
  return prior_->sample(n, generator);
}
torch::Tensor PriorTask::prior_log_prob(const torch::Tensor& theta) const {
  return prior_->log_prob(rows(theta, "prior_log_prob"));
}
torch::Tensor PriorTask::in_support(const torch::Tensor& theta) const {
  return prior_->in_support(rows(theta, "in_support"));
}

std::unique_ptr<Task> make_two_moons() { return std::make_unique<TwoMoons>(); }
std::unique_ptr<Task> make_gaussian_linear() { return std::make_unique<GaussianLinear>(); }
std::unique_ptr<Task> make_gaussian_linear_uniform() { return std::make_unique<GaussianLinearUniform>(); }
std::unique_ptr<Task> make_slcp() { return std::make_unique<Slcp>(); }
std::unique_ptr<Task> make_gaussian_mixture() { return std::make_unique<GaussianMixture>(); }
std::unique_ptr<Task> make_bernoulli_glm() { return std::make_unique<BernoulliGlm>(); }

}  // namespace detail

namespace {

using Factory = std::unique_ptr<Task> (*)();

// One table gives both the names (in TASKS.md's order) and the constructors.
const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"two_moons", detail::make_two_moons},
      {"gaussian_linear", detail::make_gaussian_linear},
      {"gaussian_linear_uniform", detail::make_gaussian_linear_uniform},
      {"slcp", detail::make_slcp},
      {"gaussian_mixture", detail::make_gaussian_mixture},
      {"bernoulli_glm", detail::make_bernoulli_glm},
      {"sir", detail::make_sir},
      {"lotka_volterra", detail::make_lotka_volterra},
  };
  return table;
}

}  // namespace

torch::Tensor Task::sample_posterior(const torch::Tensor&, int64_t, at::Generator) const {
  throw std::logic_error("task '" + name() + "' has no analytic posterior (has_analytic_posterior() is false)");
}

torch::Tensor Task::posterior_log_prob(const torch::Tensor&, const torch::Tensor&) const {
  throw std::logic_error("task '" + name() + "' has no analytic posterior (has_analytic_posterior() is false)");
}

std::unique_ptr<Task> make_task(const std::string& name) {
  for (const auto& [known, factory] : registry())
    if (known == name) return factory();
  std::string list;
  for (const auto& n : task_names()) list += (list.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown task '" + name + "'; known: " + list);
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

torch::Tensor bernoulli_glm_stimulus() {
  // numpy's RandomState(42): its legacy seeding of an integer is MT19937's init_genrand, as
  // std::mt19937's; doubles take 53 bits from two 32-bit draws; normals come in pairs from the polar
  // method, the second of each pair returned first.
  std::mt19937 mt(42);
  auto uniform = [&mt] {
    const uint32_t a = mt() >> 5, b = mt() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  };
  auto out = torch::empty({100}, torch::kDouble);
  auto* v = out.data_ptr<double>();
  for (int i = 0; i < 100; i += 2) {
    double x1 = 0, x2 = 0, r2 = 0;
    do {
      x1 = 2.0 * uniform() - 1.0;
      x2 = 2.0 * uniform() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    v[i] = f * x2;
    v[i + 1] = f * x1;
  }
  return out;
}

}  // namespace jeffreys::simulators
