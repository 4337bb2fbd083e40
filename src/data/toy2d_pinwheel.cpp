// FFJORD's pinwheel and its density by the change of variables, summed over every preimage.
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "toy2d_impl.h"

namespace jeffreys::data::detail {
namespace {

/// Arm c of 5: f0 ~ N(1, 0.3²), f1 ~ N(0, 0.1²), a = 2πc/5 + rate·exp(f0), x = 2 Rot(-a) f.
///
/// Density. With x / 2 = ρ (cos φ, sin φ), f = Rot(a) x / 2 = ρ (cos(φ + a), sin(φ + a)), so the
/// preimages in arm c are the roots of h(f0) = f0 - ρ cos(φ + 2πc/5 + rate·exp(f0)) on [-ρ, ρ] (there
/// is at least one: h(-ρ) <= 0 <= h(ρ)), with f1 = ρ sin(φ + a). The Jacobian of f -> x is
/// 4 |1 + rate·exp(f0) f1| = 4 |h'(f0)|. Hence
///   π(x) = Σ_c (1/5) Σ_roots N(f0; 1, 0.3²) N(f1; 0, 0.1²) / (4 |h'(f0)|).
/// Roots come in close pairs only near a fold (h' = 0, i.e. rate·exp(f0) f1 = -1: f1 = -1.5 at f0 = 1,
/// 15 standard deviations, or f1 = -0.54 at f0 = 2), far out in the tails, so a grid of kGrid cells
/// over [-ρ, ρ] brackets every root that carries weight (N(f0) N(f1) at such roots is below e^-20 of
/// its peak), and safeguarded Newton refines each to machine precision.
class Pinwheel : public Toy2D {
 public:
  static constexpr int64_t kArms = 5;
  static constexpr double kRadialStd = 0.3, kTangentialStd = 0.1, kRate = 0.25;
  static constexpr int64_t kGrid = 48;
  static constexpr int kNewton = 40;

  std::string name() const override { return "pinwheel"; }
  bool has_log_prob() const override { return true; }
  std::array<double, 4> extent() const override { return {-4.5, 4.5, -4.5, 4.5}; }

  torch::Tensor sample(int64_t n, at::Generator g) const override {
    check_sample_count(n, name());
    auto arm = integers(kArms, n, g).to(torch::kDouble);
    auto f = normal({n, 2}, g);
    auto f0 = f.select(1, 0) * kRadialStd + 1, f1 = f.select(1, 1) * kTangentialStd;
    auto a = arm * (2 * M_PI / kArms) + kRate * f0.exp();
    auto x = f0 * a.cos() + f1 * a.sin(), y = -f0 * a.sin() + f1 * a.cos();
    return (2 * torch::stack({x, y}, 1)).to(torch::kFloat);
  }

  torch::Tensor log_prob(const torch::Tensor& x) const override {
    auto p = as_points(x, name() + " log_prob");
    // In chunks: the bracketing grid is [points · arms, kGrid + 1].
    std::vector<torch::Tensor> out;
    for (const auto& chunk : p.split(8192)) out.push_back(log_prob_chunk(chunk));
    return out.empty() ? torch::zeros({0}, torch::kDouble) : torch::cat(out);
  }

 private:
  static torch::Tensor log_prob_chunk(const torch::Tensor& p) {
    const int64_t n = p.size(0);
    auto rho = p.norm(2, 1) / 2;                           // [n]
    auto phi = torch::atan2(p.select(1, 1), p.select(1, 0));  // [n]
    auto arm_angle = torch::arange(kArms, torch::kDouble) * (2 * M_PI / kArms);
    // Per (point, arm): the phase φ + 2πc/5 and ρ, flattened to [n·5].
    auto phase = (phi.unsqueeze(1) + arm_angle.unsqueeze(0)).reshape({-1});
    auto r = rho.unsqueeze(1).expand({n, kArms}).reshape({-1});
    auto h = [&](const torch::Tensor& f0, const torch::Tensor& ph, const torch::Tensor& rr) {
      return f0 - rr * torch::cos(ph + kRate * f0.exp());
    };
    // Brackets: sign changes of h on a grid over [-ρ, ρ] (ρ kept off zero so the grid has width).
    auto half = r.clamp_min(1e-12).unsqueeze(1);
    auto grid = (torch::linspace(-1, 1, kGrid + 1, torch::kDouble).unsqueeze(0) * half);  // [n·5, G+1]
    auto positive = h(grid, phase.unsqueeze(1), r.unsqueeze(1)) > 0;
    auto change = positive.narrow(1, 0, kGrid).ne(positive.narrow(1, 1, kGrid)).nonzero();  // [B, 2]
    auto which = change.select(1, 0), cell = change.select(1, 1);
    auto lo = grid.index({which, cell}), hi = grid.index({which, cell + 1});
    auto ph = phase.index_select(0, which), rr = r.index_select(0, which);
    // Orient each bracket so that s·h is increasing, then Newton kept inside a shrinking bracket.
    auto s = positive.index({which, cell + 1}).to(torch::kDouble) * 2 - 1;
    auto f0 = (lo + hi) / 2;
    for (int it = 0; it < kNewton; ++it) {
      auto angle = ph + kRate * f0.exp();
      auto value = f0 - rr * angle.cos();
      auto slope = 1 + rr * angle.sin() * kRate * f0.exp();
      auto below = (s * value) <= 0;
      lo = torch::where(below, f0, lo);
      hi = torch::where(below, hi, f0);
      auto step = f0 - value / slope;
      auto inside = (step >= lo).logical_and(step <= hi);  // inclusive: a converged iterate stays
      auto next = torch::where(inside, step, (lo + hi) / 2);
      const bool done = next.numel() == 0 || (next - f0).abs().max().item<double>() < 1e-13;
      f0 = next;
      if (done) break;
    }
    auto angle = ph + kRate * f0.exp();
    auto f1 = rr * angle.sin();
    auto jac = (1 + kRate * f0.exp() * f1).abs() * 4;
    auto log_c = -0.5 * ((f0 - 1) / kRadialStd).square() - 0.5 * (f1 / kTangentialStd).square() -
                 std::log(2 * M_PI * kRadialStd * kTangentialStd) - std::log(static_cast<double>(kArms)) -
                 jac.log();
    // Sum the contributions of each point's roots over all arms (brackets are sorted by point).
    return grouped_logsumexp(which.div(kArms, "floor"), log_c, n);
  }
};

}  // namespace

std::unique_ptr<Toy2D> make_pinwheel() { return std::make_unique<Pinwheel>(); }

}  // namespace jeffreys::data::detail
