#pragma once
// Internal to src/data: the density of points drawn on curves and blurred by noise, by quadrature over
// the curve parameter. Used by two-moons, swiss-roll and 2-spirals.
#include <torch/types.h>

#include <array>
#include <functional>
#include <vector>

namespace jeffreys::data::detail {

/// One curve of a mixture: a parameter t on [t0, t1] with density exp(log_density(t)) (normalised on
/// that interval), the point γ(t), and the mixture weight of the curve.
struct CurvePiece {
  std::function<std::array<double, 2>(double)> point;
  double t0 = 0, t1 = 1;
  std::function<double(double)> log_density;
  double weight = 1;
  /// Uniform jitter added before the noise, on the box [0, jitter]² (jitter_sign +1) or
  /// [-jitter, 0]² (jitter_sign -1); 0 for none. All pieces of one density share `jitter`.
  double jitter = 0;
  double jitter_sign = 1;
};

/// log p(x) = log Σ_pieces weight ∫ q(t) k(x - γ(t)) dt, with k the isotropic Gaussian of standard
/// deviation `sigma` (convolved with the uniform jitter box where there is one). The integral is a
/// composite Gauss-Legendre rule, `nodes_per_panel` nodes on panels of equal arc length
/// `panel_sigmas` · sigma: the Gaussian along the curve is resolved by a few panels, so the rule
/// converges spectrally (8 nodes on 2σ panels: ~1e-10 in log space against 10× finer rules).
class CurveDensity {
 public:
  CurveDensity(const std::vector<CurvePiece>& pieces, double sigma, double panel_sigmas = 2.0,
               int nodes_per_panel = 8);
  /// log p for points [n, 2] float64 on the CPU; float64 [n].
  torch::Tensor log_prob(const torch::Tensor& x) const;
  int64_t size() const { return position_.size(0); }

 private:
  torch::Tensor log_prob_gaussian(const torch::Tensor& x) const;
  torch::Tensor log_prob_jittered(const torch::Tensor& x) const;

  double sigma_;
  double jitter_ = 0;
  torch::Tensor position_;  // γ(t_k) [K, 2]
  torch::Tensor box_low_;   // lower corner of the jitter box at node k [K, 2] (jittered only)
  torch::Tensor log_weight_;  // log(piece weight · q(t_k) · quadrature weight) [K]
  // Consecutive groups of nodes_per_panel_ nodes: their boxes' centre, radius and largest log weight [P].
  int64_t nodes_per_panel_ = 1;
  torch::Tensor panel_centre_, panel_radius_, panel_log_weight_;
};

/// Gauss-Legendre nodes and weights on [-1, 1].
void gauss_legendre(int n, std::vector<double>& nodes, std::vector<double>& weights);

}  // namespace jeffreys::data::detail
