// The data sets whose density has a closed form: 8-gaussians, gaussian-grid, checkerboard, rings, circles.
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "toy2d_impl.h"

namespace jeffreys::data::detail {
namespace {

/// Equal mixture of isotropic Gaussians with standard deviation `sigma` at the rows of `centres` [k, 2].
class GaussianMixture : public Toy2D {
 public:
  GaussianMixture(std::string name, torch::Tensor centres, double sigma)
      : name_(std::move(name)), sigma_(sigma), centres_(std::move(centres)) {}
  std::string name() const override { return name_; }
  bool has_log_prob() const override { return true; }
  std::array<double, 4> extent() const override {
    const double r = centres_.abs().max().item<double>() + 5 * sigma_;
    return {-r, r, -r, r};
  }

  torch::Tensor sample(int64_t n, at::Generator g) const override {
    check_sample_count(n, name());
    auto which = integers(centres_.size(0), n, g);
    auto noise = normal({n, 2}, g);
    return (centres_.index_select(0, which) + sigma_ * noise).to(torch::kFloat);
  }

  torch::Tensor log_prob(const torch::Tensor& x) const override {
    auto p = as_points(x, name() + " log_prob");
    auto d2 = (p.unsqueeze(1) - centres_.unsqueeze(0)).square().sum(-1);  // [n, k]
    return torch::logsumexp(-d2 / (2 * sigma_ * sigma_), 1) - std::log(static_cast<double>(centres_.size(0))) -
           log_gaussian_norm(sigma_);
  }

 private:
  std::string name_;
  double sigma_;
  torch::Tensor centres_;  // [k, 2], float64
};

/// Uniform on the squares of an n × n board of unit squares on [-n/2, n/2)² whose ⌊x⌋ + ⌊y⌋ is even.
class Checkerboard : public Toy2D {
 public:
  std::string name() const override { return "checkerboard"; }
  bool has_log_prob() const override { return true; }
  std::array<double, 4> extent() const override { return {-2, 2, -2, 2}; }

  // FFJORD's construction: x uniform, then y uniform on the two black squares of x's column.
  torch::Tensor sample(int64_t n, at::Generator g) const override {
    check_sample_count(n, name());
    auto x = uniform(n, g) * 4 - 2;
    auto y = uniform(n, g) - integers(2, n, g).to(torch::kDouble) * 2 + torch::remainder(x.floor(), 2);
    return torch::stack({x, y}, 1).to(torch::kFloat);
  }

  torch::Tensor log_prob(const torch::Tensor& x) const override {
    auto p = as_points(x, name() + " log_prob");
    auto inside = (p >= -2).logical_and(p < 2).all(1);
    auto black = torch::remainder(p.floor().sum(1), 2) == 0;
    // 8 black squares of area 1.
    return torch::where(inside.logical_and(black), torch::full({}, -std::log(8.0), torch::kDouble),
                        torch::full({}, -std::numeric_limits<double>::infinity(), torch::kDouble));
  }
};

/// Concentric rings: a ring of radius r_j with probability w_j, a uniform angle, isotropic Gaussian
/// noise. Integrating the noise over the angle gives, per ring,
/// exp(-(|x|² + r²) / 2σ²) I0(|x| r / σ²) / 2πσ² = exp(-(|x| - r)² / 2σ²) i0e(|x| r / σ²) / 2πσ²,
/// where i0e(z) = exp(-z) I0(z) is the exponentially scaled Bessel function, so nothing overflows.
class Rings : public Toy2D {
 public:
  Rings(std::string name, std::vector<double> radii, std::vector<double> weights, double sigma)
      : name_(std::move(name)), sigma_(sigma) {
    radii_ = torch::tensor(radii, torch::kDouble);
    auto w = torch::tensor(weights, torch::kDouble);
    weights_ = w / w.sum();
  }
  std::string name() const override { return name_; }
  bool has_log_prob() const override { return true; }
  std::array<double, 4> extent() const override {
    const double r = radii_.max().item<double>() + 5 * sigma_;
    return {-r, r, -r, r};
  }

  torch::Tensor sample(int64_t n, at::Generator g) const override {
    check_sample_count(n, name());
    auto ring = n == 0 ? torch::zeros({0}, torch::kLong) : torch::multinomial(weights_, n, true, g);
    auto angle = uniform(n, g) * (2 * M_PI);
    auto noise = normal({n, 2}, g);
    auto r = radii_.index_select(0, ring).unsqueeze(1);
    return (r * torch::stack({angle.cos(), angle.sin()}, 1) + sigma_ * noise).to(torch::kFloat);
  }

  torch::Tensor log_prob(const torch::Tensor& x) const override {
    auto p = as_points(x, name() + " log_prob");
    auto rho = p.norm(2, 1, true);                         // [n, 1]
    auto z = rho * radii_.unsqueeze(0) / (sigma_ * sigma_);  // [n, rings]
    auto per_ring = -(rho - radii_.unsqueeze(0)).square() / (2 * sigma_ * sigma_) + torch::special::i0e(z).log() +
                    weights_.log().unsqueeze(0);
    return torch::logsumexp(per_ring, 1) - log_gaussian_norm(sigma_);
  }

 private:
  std::string name_;
  double sigma_;
  torch::Tensor radii_, weights_;
};

}  // namespace

std::unique_ptr<Toy2D> make_eight_gaussians() {
  auto angle = torch::arange(8, torch::kDouble) * (2 * M_PI / 8.0);
  return std::make_unique<GaussianMixture>("8-gaussians", torch::stack({angle.cos(), angle.sin()}, 1) * 2.0, 0.2);
}
std::unique_ptr<Toy2D> make_gaussian_grid() {
  auto g = torch::arange(-2, 3, torch::kDouble);  // -2, -1, 0, 1, 2
  auto grid = torch::meshgrid({g, g}, "ij");
  return std::make_unique<GaussianMixture>("gaussian-grid", torch::stack({grid[0].flatten(), grid[1].flatten()}, 1), 0.1);
}
std::unique_ptr<Toy2D> make_checkerboard() { return std::make_unique<Checkerboard>(); }
std::unique_ptr<Toy2D> make_rings() {
  return std::make_unique<Rings>("rings", std::vector<double>{0.5, 1.0, 1.5, 2.0}, std::vector<double>{1, 1, 1, 1},
                                 0.08);
}
std::unique_ptr<Toy2D> make_circles() {
  return std::make_unique<Rings>("circles", std::vector<double>{1.0, 0.5}, std::vector<double>{1, 1}, 0.05);
}

}  // namespace jeffreys::data::detail
