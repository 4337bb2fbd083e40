#include "curve_density.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "toy2d_impl.h"

namespace jeffreys::data::detail {
namespace {

// Rows per chunk so that one [rows, K] float64 intermediate stays around 8 MB.
int64_t chunk_rows(int64_t nodes) { return std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(nodes, 1)); }

// log(Φ(u) - Φ(v)) for u > v (1-D). On the side of the normal where both lie (u + v <= 0 after the flip
// Φ(u) - Φ(v) = Φ(-v) - Φ(-u)) the difference of the two tails has no cancellation to speak of, and
// erfc keeps full relative precision until it underflows, ~37 standard deviations out; only such
// entries take the slower log-CDF form.
torch::Tensor log_normal_cdf_difference(const torch::Tensor& u, const torch::Tensor& v) {
  auto flip = (u + v) > 0;
  auto hi = torch::where(flip, -v, u), lo = torch::where(flip, -u, v);
  auto diff = (torch::erfc(hi * -M_SQRT1_2) - torch::erfc(lo * -M_SQRT1_2)) * 0.5;
  auto out = diff.log();
  auto tiny = (diff < 1e-280).nonzero().squeeze(1);
  if (tiny.numel() > 0) {
    auto h = hi.index_select(0, tiny), l = lo.index_select(0, tiny);
    auto log_h = torch::special::log_ndtr(h), log_l = torch::special::log_ndtr(l);
    out.index_put_({tiny}, log_h + torch::log1p(-torch::exp(log_l - log_h)));
  }
  return out;
}

}  // namespace

void gauss_legendre(int n, std::vector<double>& nodes, std::vector<double>& weights) {
  nodes.assign(n, 0);
  weights.assign(n, 0);
  for (int i = 0; i < n; ++i) {
    // Newton on the Legendre polynomial from the usual asymptotic first guess.
    double x = std::cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = x;
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1);
      const double dx = p1 / dp;
      x -= dx;
      if (std::abs(dx) < 1e-15) break;
    }
    nodes[i] = x;
    weights[i] = 2 / ((1 - x * x) * dp * dp);
  }
}

CurveDensity::CurveDensity(const std::vector<CurvePiece>& pieces, double sigma, double panel_sigmas,
                           int nodes_per_panel)
    : sigma_(sigma) {
  TORCH_CHECK(!pieces.empty() && sigma > 0 && panel_sigmas > 0 && nodes_per_panel >= 1, "CurveDensity: bad arguments");
  jitter_ = pieces.front().jitter;
  std::vector<double> gl_x, gl_w;
  gauss_legendre(nodes_per_panel, gl_x, gl_w);
  std::vector<double> pos, low, logw;
  for (const auto& piece : pieces) {
    TORCH_CHECK(piece.jitter == jitter_, "CurveDensity: all pieces must share one jitter");
    // Arc length along a fine table of the parameter, then panel ends at equal arc length.
    constexpr int kTable = 8192;
    std::vector<double> t(kTable + 1), s(kTable + 1, 0.0);
    for (int i = 0; i <= kTable; ++i) t[i] = piece.t0 + (piece.t1 - piece.t0) * i / kTable;
    auto prev = piece.point(t[0]);
    for (int i = 1; i <= kTable; ++i) {
      const auto p = piece.point(t[i]);
      s[i] = s[i - 1] + std::hypot(p[0] - prev[0], p[1] - prev[1]);
      prev = p;
    }
    const int panels = std::max(1, static_cast<int>(std::ceil(s.back() / (panel_sigmas * sigma))));
    std::vector<double> ends{piece.t0};
    for (int p = 1, j = 0; p < panels; ++p) {
      const double target = s.back() * p / panels;
      while (s[j + 1] < target) ++j;
      const double f = (target - s[j]) / (s[j + 1] - s[j]);
      ends.push_back(t[j] + f * (t[j + 1] - t[j]));
    }
    ends.push_back(piece.t1);
    for (int p = 0; p < panels; ++p) {
      const double mid = (ends[p] + ends[p + 1]) / 2, half = (ends[p + 1] - ends[p]) / 2;
      for (int i = 0; i < nodes_per_panel; ++i) {
        const double tk = mid + half * gl_x[i];
        const auto g = piece.point(tk);
        pos.insert(pos.end(), {g[0], g[1]});
        const double shift = piece.jitter_sign > 0 ? 0.0 : -piece.jitter;
        low.insert(low.end(), {g[0] + shift, g[1] + shift});
        logw.push_back(std::log(piece.weight) + piece.log_density(tk) + std::log(gl_w[i] * half));
      }
    }
  }
  const auto k = static_cast<int64_t>(logw.size());
  position_ = torch::tensor(pos, torch::kDouble).reshape({k, 2});
  box_low_ = torch::tensor(low, torch::kDouble).reshape({k, 2});
  log_weight_ = torch::tensor(logw, torch::kDouble);
  // Panels of nodes_per_panel consecutive nodes: centre, radius and largest weight of their boxes.
  nodes_per_panel_ = nodes_per_panel;
  auto centres = (box_low_ + jitter_ / 2).reshape({-1, nodes_per_panel, 2});
  panel_centre_ = centres.mean(1);
  panel_radius_ = std::get<0>((centres - panel_centre_.unsqueeze(1)).norm(2, 2).max(1));
  panel_log_weight_ = std::get<0>(log_weight_.reshape({-1, nodes_per_panel}).max(1));
}

torch::Tensor CurveDensity::log_prob(const torch::Tensor& x) const {
  return jitter_ > 0 ? log_prob_jittered(x) : log_prob_gaussian(x);
}

torch::Tensor CurveDensity::log_prob_gaussian(const torch::Tensor& x) const {
  std::vector<torch::Tensor> out;
  auto p2 = position_.square().sum(1).unsqueeze(0);
  for (const auto& c : x.split(chunk_rows(size()))) {
    // |x - γ|² through one matrix product; float64 keeps the cancellation far below σ².
    auto d2 = (c.square().sum(1, true) + p2 - 2 * c.mm(position_.t())).clamp_min(0);
    out.push_back(torch::logsumexp(log_weight_.unsqueeze(0) - d2 / (2 * sigma_ * sigma_), 1));
  }
  auto lp = out.empty() ? torch::zeros({0}, torch::kDouble) : torch::cat(out);
  return lp - std::log(2 * M_PI * sigma_ * sigma_);
}

torch::Tensor CurveDensity::log_prob_jittered(const torch::Tensor& x) const {
  // The kernel (uniform box convolved with the Gaussian) costs two log-CDFs per coordinate, so it is
  // evaluated only at the panels that can matter. With d the distance from x to a box's centre and
  // h = a/√2 its half-diagonal, each coordinate's factor lies between φ_σ(distance + a) and
  // exp(-distance² / 2σ²) / a, so
  //   log w - log 2πσ² - (d + 2h)² / 2σ²  <=  log(w k)  <=  log w - 2 log a - (d - h)₊² / 2σ².
  // Per panel, with d_p the distance to the panel's centre and r_p its radius (d_p - r_p <= d <= d_p + r_p)
  // and its largest log w, these bound every node of the panel from above and one of them from below.
  // A panel whose upper bound is kCut below the best lower bound of that point adds less than e^-kCut
  // (1e-13) of the total, below the quadrature's own error.
  constexpr double kCut = 30;
  const double a = jitter_, h = a / std::sqrt(2.0), inv2s2 = 1 / (2 * sigma_ * sigma_);
  const int64_t per_panel = nodes_per_panel_, panels = size() / per_panel;
  auto centre2 = panel_centre_.square().sum(1).unsqueeze(0);
  auto radius = panel_radius_.unsqueeze(0), log_w = panel_log_weight_.unsqueeze(0);
  auto offsets = torch::arange(per_panel, torch::kLong);
  std::vector<torch::Tensor> out;
  for (const auto& c : x.split(chunk_rows(panels))) {
    auto d = (c.square().sum(1, true) + centre2 - 2 * c.mm(panel_centre_.t())).clamp_min(0).sqrt();  // [rows, P]
    auto upper = log_w - 2 * std::log(a) - (d - radius - h).clamp_min(0).square() * inv2s2;
    auto lower = log_w - std::log(2 * M_PI * sigma_ * sigma_) - (d + radius + 2 * h).square() * inv2s2;
    auto keep = (upper >= std::get<0>(lower.max(1, true)) - kCut).nonzero();  // sorted by row
    // Every node of every kept panel.
    auto row = keep.select(1, 0).unsqueeze(1).expand({-1, per_panel}).reshape({-1});
    auto node = (keep.select(1, 1).unsqueeze(1) * per_panel + offsets.unsqueeze(0)).reshape({-1});
    auto z = (c.index_select(0, row) - box_low_.index_select(0, node)) / sigma_;  // [m, 2]
    auto u = z.reshape({-1});
    auto log_k = log_normal_cdf_difference(u, u - a / sigma_).reshape({-1, 2}).sum(1) +
                 log_weight_.index_select(0, node);
    out.push_back(grouped_logsumexp(row, log_k, c.size(0)));
  }
  auto lp = out.empty() ? torch::zeros({0}, torch::kDouble) : torch::cat(out);
  // Each coordinate's kernel is (Φ(u) - Φ(u - a/σ)) / a.
  return lp - 2 * std::log(a);
}

}  // namespace jeffreys::data::detail
