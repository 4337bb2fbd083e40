#pragma once
/// Two-dimensional toy distributions (the FFJORD / scikit-learn set) that draw unlimited fresh
/// samples and, where the density is known, evaluate it, so a model can be scored against the truth.
///
/// The data sets, by name (all parameters are fixed; σ is the standard deviation of the isotropic
/// Gaussian noise added to every point):
///
/// | name | what | log_prob | extent() |
/// |---|---|---|---|
/// | `two-moons` | scikit-learn `make_moons`: a class (probability 1/2 each), t ~ U[0, π], the upper arc (cos t, sin t) or the lower arc (1 - cos t, 0.5 - sin t); σ = 0.1 | 1-D quadrature over t | [-1.5, 2.5] × [-1, 1.5] |
/// | `8-gaussians` | equal mixture of 8 Gaussians centred at 2 (cos 2πk/8, sin 2πk/8), σ = 0.2 (METHOD.md's prototype; entropy ≈ 1.70 nats) | closed form | [-3, 3]² |
/// | `gaussian-grid` | equal mixture of 25 Gaussians centred on the 5 × 5 grid {-2, -1, 0, 1, 2}², σ = 0.1 (ours: the slides' "Gaussian grid" has no stated parameters; entropy = log 25 + 1 + log(2πσ²) ≈ 1.452 nats) | closed form | [-2.5, 2.5]² |
/// | `checkerboard` | uniform on the 8 black squares of a 4 × 4 board of unit squares on [-2, 2)², those with ⌊x⌋ + ⌊y⌋ even (FFJORD's construction before its ×2 scaling); density 1/8 there | closed form, -inf elsewhere | [-2, 2]² |
/// | `rings` | 4 concentric rings of radii 0.5, 1, 1.5, 2 (probability 1/4 each), a uniform angle, σ = 0.08 | closed form (Bessel I0) | [-2.4, 2.4]² |
/// | `circles` | scikit-learn `make_circles`: radius 1 or 0.5 (probability 1/2 each), a uniform angle, σ = 0.05 | closed form (Bessel I0) | [-1.25, 1.25]² |
/// | `pinwheel` | FFJORD's pinwheel: 5 arms c (probability 1/5 each), f = (f0, f1) with f0 ~ N(1, 0.3²), f1 ~ N(0, 0.1²), turned by a = 2πc/5 + 0.25 exp(f0): x = 2 (f0 cos a + f1 sin a, -f0 sin a + f1 cos a) | change of variables, summed over every preimage (bracketing and safeguarded Newton) | [-4.5, 4.5]² |
/// | `swiss-roll` | FFJORD's: scikit-learn `make_swiss_roll` with t ~ U[1.5π, 4.5π], the point (t cos t, t sin t) / 5; σ = 0.2 (scikit-learn noise 1 before the division) | 1-D quadrature over t | [-3, 3.6] × [-3.3, 3.9] |
/// | `2-spirals` | FFJORD's 2spirals: s = ±1 (probability 1/2 each), n = 3π √u with u ~ U[0, 1], the point s (-n cos n + 0.5 u1, n sin n + 0.5 u2) / 3 with u1, u2 ~ U[0, 1] (FFJORD's uniform jitter, kept), then σ = 0.1 | 1-D quadrature over n (the jitter convolved with the noise is a product of normal-CDF differences) | [-4, 4] × [-3.5, 3.5] |
///
/// The quadratures are composite Gauss-Legendre rules with 8 nodes per panel and panels of equal
/// arc length 2σ along the curve: compared with 10-times finer rules their log-densities agree to
/// about 1e-10, far inside the 1e-4 the metrics need. log_prob of 10^5 points takes about 0.3 s
/// (two-moons, swiss-roll), 1 s (pinwheel) and 2 s (2-spirals) on a 2-core machine; the closed forms
/// are 10-100 times faster.
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace jeffreys::data {

/// A 2D toy distribution that draws unlimited fresh samples and, where known, evaluates its log-density.
class Toy2D {
 public:
  virtual ~Toy2D() = default;
  /// The name make_toy2d knows it by.
  virtual std::string name() const = 0;
  /// n samples [n, 2] (float32, CPU) drawn with `generator` (a CPU at::Generator): the same
  /// generator state gives the same samples.
  virtual torch::Tensor sample(int64_t n, at::Generator generator) const = 0;
  /// Whether log_prob is available (closed form or accurate 1-D quadrature).
  virtual bool has_log_prob() const = 0;
  /// log π(x) for x [n, 2] (any float dtype, any device), returned as float64 [n] on the CPU; -inf
  /// off the support. Throws std::logic_error if !has_log_prob().
  virtual torch::Tensor log_prob(const torch::Tensor& x) const;
  /// A box [xmin, xmax, ymin, ymax] holding essentially all the mass (for plots and quadrature
  /// grids): at most about 1e-4 of it lies outside.
  virtual std::array<double, 4> extent() const = 0;
};

/// Builds a data set by name; throws std::invalid_argument naming the unknown name and listing the known ones.
std::unique_ptr<Toy2D> make_toy2d(const std::string& name);

/// The names make_toy2d knows, in a fixed order.
std::vector<std::string> toy2d_names();

/// A fixed training set: n points drawn with `seed` (the small-data setting), float32 [n, 2].
/// The same (data set, n, seed) always gives the same points.
torch::Tensor fixed_training_set(const Toy2D& d, int64_t n, uint64_t seed);

}  // namespace jeffreys::data
