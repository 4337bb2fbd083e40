// The data sets drawn along curves, whose density is a 1-D quadrature over the curve parameter:
// two-moons, swiss-roll, 2-spirals.
#include <torch/torch.h>

#include <cmath>

#include "curve_density.h"
#include "toy2d_impl.h"

namespace jeffreys::data::detail {
namespace {

/// Shared by the curve data sets: the density by quadrature, the sampler their own.
class CurveSet : public Toy2D {
 public:
  CurveSet(std::string name, std::array<double, 4> extent, CurveDensity density)
      : name_(std::move(name)), extent_(extent), density_(std::move(density)) {}
  std::string name() const override { return name_; }
  bool has_log_prob() const override { return true; }
  std::array<double, 4> extent() const override { return extent_; }
  torch::Tensor log_prob(const torch::Tensor& x) const override {
    return density_.log_prob(as_points(x, name_ + " log_prob"));
  }

 private:
  std::string name_;
  std::array<double, 4> extent_;
  CurveDensity density_;
};

/// scikit-learn make_moons with a random arc parameter: t ~ U[0, π], upper arc (cos t, sin t) or
/// lower arc (1 - cos t, 0.5 - sin t) with probability 1/2 each, noise σ.
class TwoMoons : public CurveSet {
 public:
  static constexpr double kSigma = 0.1;
  TwoMoons()
      : CurveSet("two-moons", {-1.5, 2.5, -1.0, 1.5},
                 CurveDensity({upper(), lower()}, kSigma)) {}

  torch::Tensor sample(int64_t n, at::Generator g) const override {
    check_sample_count(n, name());
    auto is_lower = uniform(n, g) < 0.5;
    auto t = uniform(n, g) * M_PI;
    auto noise = normal({n, 2}, g);
    auto x = torch::where(is_lower, 1 - t.cos(), t.cos());
    auto y = torch::where(is_lower, 0.5 - t.sin(), t.sin());
    return (torch::stack({x, y}, 1) + kSigma * noise).to(torch::kFloat);
  }

 private:
  static CurvePiece upper() {
    CurvePiece p;
    p.point = [](double t) { return std::array<double, 2>{std::cos(t), std::sin(t)}; };
    p.t0 = 0;
    p.t1 = M_PI;
    p.log_density = [](double) { return -std::log(M_PI); };
    p.weight = 0.5;
    return p;
  }
  static CurvePiece lower() {
    auto p = upper();
    p.point = [](double t) { return std::array<double, 2>{1 - std::cos(t), 0.5 - std::sin(t)}; };
    return p;
  }
};

/// FFJORD's swiss roll: t ~ U[1.5π, 4.5π], the point (t cos t, t sin t) / 5, noise σ = 0.2 (scikit-learn's
/// noise 1 before the division).
class SwissRoll : public CurveSet {
 public:
  static constexpr double kSigma = 0.2;
  static constexpr double kScale = 5;
  SwissRoll() : CurveSet("swiss-roll", {-3.0, 3.6, -3.3, 3.9}, CurveDensity({roll()}, kSigma)) {}

  torch::Tensor sample(int64_t n, at::Generator g) const override {
    check_sample_count(n, name());
    auto t = 1.5 * M_PI * (1 + 2 * uniform(n, g));
    auto noise = normal({n, 2}, g);
    return (torch::stack({t * t.cos(), t * t.sin()}, 1) / kScale + kSigma * noise).to(torch::kFloat);
  }

 private:
  static CurvePiece roll() {
    CurvePiece p;
    p.point = [](double t) { return std::array<double, 2>{t * std::cos(t) / kScale, t * std::sin(t) / kScale}; };
    p.t0 = 1.5 * M_PI;
    p.t1 = 4.5 * M_PI;
    p.log_density = [](double) { return -std::log(3 * M_PI); };
    return p;
  }
};

/// FFJORD's 2spirals: n = 3π √u (so n has density 2n / (3π)² on [0, 3π]), the point
/// s (-n cos n + 0.5 u1, n sin n + 0.5 u2) / 3 with s = ±1 and u1, u2 ~ U[0, 1], then noise σ = 0.1.
/// The jitter is the box [0, 1/6]² (s = +1) or [-1/6, 0]² (s = -1) after the division.
class TwoSpirals : public CurveSet {
 public:
  static constexpr double kSigma = 0.1;
  static constexpr double kTurn = 3 * M_PI;  // 540 degrees
  static constexpr double kJitter = 0.5 / 3;
  TwoSpirals()
      : CurveSet("2-spirals", {-4.0, 4.0, -3.5, 3.5}, CurveDensity({arm(1), arm(-1)}, kSigma)) {}

  torch::Tensor sample(int64_t n, at::Generator g) const override {
    check_sample_count(n, name());
    auto s = (1 - 2 * (uniform(n, g) < 0.5).to(torch::kDouble)).unsqueeze(1);  // -1 or +1
    auto turn = uniform(n, g).sqrt() * kTurn;
    auto jitter = torch::rand({n, 2}, g, torch::kDouble) * 0.5;
    auto noise = normal({n, 2}, g);
    auto d = torch::stack({-turn.cos() * turn, turn.sin() * turn}, 1) + jitter;
    return (s * d / 3 + kSigma * noise).to(torch::kFloat);
  }

 private:
  static CurvePiece arm(double s) {
    CurvePiece p;
    p.point = [s](double t) { return std::array<double, 2>{-s * std::cos(t) * t / 3, s * std::sin(t) * t / 3}; };
    p.t0 = 0;
    p.t1 = kTurn;
    p.log_density = [](double t) { return std::log(2 * t / (kTurn * kTurn)); };
    p.weight = 0.5;
    p.jitter = kJitter;
    p.jitter_sign = s;
    return p;
  }
};

}  // namespace

std::unique_ptr<Toy2D> make_two_moons() { return std::make_unique<TwoMoons>(); }
std::unique_ptr<Toy2D> make_swiss_roll() { return std::make_unique<SwissRoll>(); }
std::unique_ptr<Toy2D> make_two_spirals() { return std::make_unique<TwoSpirals>(); }

}  // namespace jeffreys::data::detail
