#include "jeffreys/metrics/entropy.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace jeffreys::metrics {
namespace {
/// ψ(m) for an integer m >= 1: -γ + Σ_{j<m} 1/j.
double digamma_int(int64_t m) {
  double s = -0.57721566490153286061;
  for (int64_t j = 1; j < m; ++j) s += 1.0 / static_cast<double>(j);
  return s;
}
}  // namespace

EntropyEstimate knn_entropy(const torch::Tensor& x_in, int64_t k) {
  if (x_in.dim() != 2) throw std::invalid_argument("knn_entropy: samples must be [n, d]");
  const int64_t n = x_in.size(0), d = x_in.size(1);
  if (k < 1) throw std::invalid_argument("knn_entropy: k must be >= 1");
  if (n <= k) throw std::invalid_argument("knn_entropy: " + std::to_string(n) + " samples for k = " + std::to_string(k));
  torch::NoGradGuard g;
  const auto x = x_in.to(torch::kCPU, torch::kDouble).contiguous();
  auto sq = (x * x).sum(1);
  double sum_log_rho = 0;
  const int64_t block = 512;
  for (int64_t a = 0; a < n; a += block) {
    const int64_t m = std::min(block, n - a);
    auto xa = x.narrow(0, a, m);
    // ‖a - b‖² by the expansion (one matrix product), clamped at 0 against rounding; each row's own
    // distance set to +∞ so that it is not its own neighbour.
    auto d2 = (sq.narrow(0, a, m).unsqueeze(1) + sq.unsqueeze(0) - 2 * torch::mm(xa, x.t())).clamp_min(0);
    d2.narrow(1, a, m).diagonal().fill_(std::numeric_limits<double>::infinity());
    auto kth = std::get<0>(d2.topk(k, 1, /*largest=*/false, /*sorted=*/true)).select(1, k - 1);
    if ((kth <= 0).any().item<bool>())
      throw std::invalid_argument("knn_entropy: a row has " + std::to_string(k) +
                                  " or more exact duplicates; the k-NN estimate needs continuous data");
    sum_log_rho += 0.5 * kth.log().sum().item<double>();
  }
  const double dd = static_cast<double>(d);
  const double log_unit_ball = 0.5 * dd * std::log(M_PI) - std::lgamma(0.5 * dd + 1.0);
  EntropyEstimate e;
  e.value = digamma_int(n) - digamma_int(k) + log_unit_ball + dd * sum_log_rho / static_cast<double>(n);
  e.n = n;
  e.dims = d;
  e.k = k;
  return e;
}

torch::Tensor dequantise_ties(const torch::Tensor& c_in, uint64_t seed) {
  if (c_in.dim() != 2) throw std::invalid_argument("dequantise_ties: samples must be [n, d]");
  torch::NoGradGuard g;
  auto c = c_in.to(torch::kCPU, torch::kDouble).clone();
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t n = c.size(0);
  for (int64_t j = 0; j < c.size(1); ++j) {
    auto col = c.select(1, j);
    const auto distinct = std::get<0>(at::unique_dim(col, 0));  // sorted
    if (distinct.size(0) == n) continue;  // no ties: already continuous as far as the estimate sees
    const double width = distinct.size(0) < 2 ? 1.0 : torch::diff(distinct).min().item<double>();
    col.add_(torch::rand({n}, gen, torch::kDouble) * width);
  }
  return c;
}

EntropyEstimate conditional_knn_entropy(const torch::Tensor& y, const torch::Tensor& c_in, int64_t k) {
  if (y.dim() != 2 || c_in.dim() != 2 || y.size(0) != c_in.size(0))
    throw std::invalid_argument("conditional_knn_entropy: y [n, d_y] and c [n, d_c] with the same n");
  auto c = c_in.to(torch::kCPU, torch::kDouble);
  const bool repeated = std::get<0>(at::unique_dim(c, 0)).size(0) < c.size(0);
  // A fixed seed: the same data give the same estimate, and the caller's random stream is untouched.
  if (repeated) c = dequantise_ties(c, 0x6a656666);
  auto joint = knn_entropy(torch::cat({y.to(torch::kCPU, torch::kDouble), c}, 1), k);
  auto marginal = knn_entropy(c, k);
  EntropyEstimate e = joint;
  e.value = joint.value - marginal.value;
  e.dims = y.size(1);
  e.dequantised = repeated;
  return e;
}

namespace {
/// ½ log det(2πe Σ̂) from a scatter matrix S (Σ r rᵀ) with `dof` degrees of freedom, log det Σ̂
/// corrected for the Wishart bias of log det S.
double gaussian_entropy_of_scatter(const torch::Tensor& scatter, int64_t dof) {
  const int64_t d = scatter.size(0);
  if (dof < d) return std::numeric_limits<double>::quiet_NaN();
  auto info = torch::linalg_cholesky_ex(scatter);
  if (std::get<1>(info).item<int64_t>() != 0) return std::numeric_limits<double>::quiet_NaN();
  const double log_det_scatter = 2.0 * std::get<0>(info).diagonal().log().sum().item<double>();
  // E log det S = log det Σ + d log 2 + Σ_{i=1..d} ψ((dof - i + 1) / 2).
  const auto halves = (static_cast<double>(dof) + 1.0 - torch::arange(1, d + 1, torch::kDouble)) / 2.0;
  const double log_det = log_det_scatter - static_cast<double>(d) * std::log(2.0) - torch::digamma(halves).sum().item<double>();
  return 0.5 * (static_cast<double>(d) * std::log(2.0 * M_PI * M_E) + log_det);
}
}  // namespace

double gaussian_entropy_bound(const torch::Tensor& x_in) {
  if (x_in.dim() != 2) throw std::invalid_argument("gaussian_entropy_bound: samples must be [n, d]");
  torch::NoGradGuard g;
  const auto x = x_in.to(torch::kCPU, torch::kDouble);
  const auto r = x - x.mean(0, true);
  return gaussian_entropy_of_scatter(torch::mm(r.t(), r), x.size(0) - 1);
}

double gaussian_conditional_entropy_bound(const torch::Tensor& y_in, const torch::Tensor& c_in) {
  if (y_in.dim() != 2 || c_in.dim() != 2 || y_in.size(0) != c_in.size(0))
    throw std::invalid_argument("gaussian_conditional_entropy_bound: y [n, d_y] and c [n, d_c] with the same n");
  torch::NoGradGuard g;
  const auto y = y_in.to(torch::kCPU, torch::kDouble);
  const auto c = c_in.to(torch::kCPU, torch::kDouble);
  const auto design = torch::cat({torch::ones({c.size(0), 1}, torch::kDouble), c}, 1);
  // gelsd: least squares by SVD, so a constant or collinear column of c costs a degree of freedom
  // instead of failing.
  const auto fit = torch::linalg_lstsq(design, y, c10::nullopt, c10::string_view("gelsd"));
  const auto residual = y - torch::mm(design, std::get<0>(fit));
  const int64_t rank = std::get<2>(fit).item<int64_t>();
  return gaussian_entropy_of_scatter(torch::mm(residual.t(), residual), y.size(0) - rank);
}

namespace {
/// μ(c) and L(c) from one MLP; -log N(y; μ, L Lᵀ) per row.
struct GaussianRegression {
  std::vector<torch::nn::Linear> layers;
  int64_t d;
  torch::Tensor rows, cols;  // the lower triangle's indices

  GaussianRegression(int64_t d_c, int64_t d_y, int64_t hidden, at::Generator& gen) : d(d_y) {
    torch::NoGradGuard g;
    for (auto [in, out] : {std::pair{d_c, hidden}, {hidden, hidden}, {hidden, d + d * (d + 1) / 2}}) {
      torch::nn::Linear layer(torch::nn::LinearOptions(in, out));
      layer->to(torch::kDouble);
      // LibTorch's default U(±1/√fan_in), drawn from `gen` rather than the global generator.
      const double bound = 1 / std::sqrt(static_cast<double>(in));
      layer->weight.uniform_(-bound, bound, gen);
      layer->bias.uniform_(-bound, bound, gen);
      layers.push_back(layer);
    }
    const auto tril = torch::tril_indices(d, d);
    rows = tril[0], cols = tril[1];
  }

  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> p;
    for (const auto& l : layers) p.insert(p.end(), {l->weight, l->bias});
    return p;
  }

  torch::Tensor nll(const torch::Tensor& y, const torch::Tensor& c) {
    const auto out = layers[2]->forward(torch::tanh(layers[1]->forward(torch::tanh(layers[0]->forward(c)))));
    const auto mu = out.narrow(1, 0, d);
    auto l = torch::zeros({c.size(0), d, d}, out.options());
    l.index_put_({torch::indexing::Slice(), rows, cols}, out.narrow(1, d, out.size(1) - d));
    const auto raw_diag = l.diagonal(0, 1, 2);
    l = l - torch::diag_embed(raw_diag) + torch::diag_embed(raw_diag.exp());
    const auto z = torch::linalg_solve_triangular(l, (y - mu).unsqueeze(-1), /*upper=*/false).squeeze(-1);
    return 0.5 * z.pow(2).sum(1) + raw_diag.sum(1) + 0.5 * static_cast<double>(d) * std::log(2 * M_PI);
  }
};
}  // namespace

double neural_gaussian_conditional_entropy_bound(const torch::Tensor& y_in, const torch::Tensor& c_in,
                                                 const NeuralGaussianBoundOptions& o) {
  if (y_in.dim() != 2 || c_in.dim() != 2 || y_in.size(0) != c_in.size(0))
    throw std::invalid_argument("neural_gaussian_conditional_entropy_bound: y [n, d_y] and c [n, d_c] with the same n");
  if (o.folds < 2 || o.hidden < 1 || o.batch_size < 1 || o.max_epochs < 1 || o.patience < 0)
    throw std::invalid_argument("neural_gaussian_conditional_entropy_bound: folds >= 2, hidden, batch_size, max_epochs >= 1");
  const int64_t n = y_in.size(0);
  if (n < 2 * o.folds) return std::numeric_limits<double>::quiet_NaN();
  torch::AutoGradMode grad(true);  // callers may hold a NoGradGuard
  const auto y = y_in.detach().to(torch::kCPU, torch::kDouble);
  const auto c = c_in.detach().to(torch::kCPU, torch::kDouble);
  auto gen = at::detail::createCPUGenerator(o.seed);
  const auto perm = torch::randperm(n, gen, torch::kLong);
  double total = 0;
  for (int64_t k = 0; k < o.folds; ++k) {
    // Fold k: every folds-th row of the permutation; of the rest, a tenth stops the fit early.
    const auto in_test = torch::arange(n, torch::kLong).remainder(o.folds).eq(k);
    const auto test = perm.masked_select(in_test), rest = perm.masked_select(in_test.logical_not());
    const int64_t n_val = std::max<int64_t>(1, rest.size(0) / 10);
    const auto val = rest.narrow(0, 0, n_val), train = rest.narrow(0, n_val, rest.size(0) - n_val);
    const auto y_tr = y.index_select(0, train), c_tr = c.index_select(0, train);
    const auto y_val = y.index_select(0, val), c_val = c.index_select(0, val);
    GaussianRegression model(c.size(1), y.size(1), o.hidden, gen);
    torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(o.learning_rate));
    double best = std::numeric_limits<double>::infinity();
    std::vector<torch::Tensor> best_params;
    int64_t since_best = 0;
    const int64_t n_tr = train.size(0);
    for (int64_t epoch = 0; epoch < o.max_epochs && since_best <= o.patience; ++epoch) {
      const auto order = torch::randperm(n_tr, gen, torch::kLong);
      for (int64_t start = 0; start < n_tr; start += o.batch_size) {
        const auto idx = order.narrow(0, start, std::min(o.batch_size, n_tr - start));
        adam.zero_grad();
        model.nll(y_tr.index_select(0, idx), c_tr.index_select(0, idx)).mean().backward();
        adam.step();
      }
      torch::NoGradGuard g;
      const double v = model.nll(y_val, c_val).mean().item<double>();
      if (v < best - 1e-4) {
        best = v, since_best = 0, best_params.clear();
        for (const auto& p : model.parameters()) best_params.push_back(p.detach().clone());
      } else {
        ++since_best;
      }
    }
    torch::NoGradGuard g;
    if (!best_params.empty()) {
      auto params = model.parameters();
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_params[i]);
    }
    total += model.nll(y.index_select(0, test), c.index_select(0, test)).sum().item<double>();
  }
  return total / static_cast<double>(n);
}

double tighter_bound(double a, double b) { return std::isfinite(b) && !(a <= b) ? b : a; }

EntropyEstimate cap_by_gaussian_bound(EntropyEstimate e, double bound) {
  e.knn = e.value;
  e.gaussian_bound = bound;
  e.capped = std::isfinite(bound) && bound < e.value;
  if (e.capped) e.value = bound;
  return e;
}

}  // namespace jeffreys::metrics
