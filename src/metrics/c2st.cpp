#include "jeffreys/metrics/c2st.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

namespace jeffreys::metrics {

namespace {

// logit(1 - ε) = log(2²³ - 1) with ε float32's machine epsilon: scikit-learn clips probabilities to
// [ε, 1 - ε] of their dtype before taking the log-loss (float32 for sbibm's float32 samples, as here),
// which is the same as clipping the logit.
constexpr double kLogitClip = 15.942385033669446;

// The classifier d → h → h → 1 with its gradient, both in one flat buffer so Adam is five tensor
// operations per step. Weights are stored [fan_in, fan_out] (scikit-learn's layout, z = a·W + b) and
// come first, so the L2 penalty is one dot product over a prefix of the buffer.
struct Mlp {
  int64_t d, h;
  torch::Tensor flat, grad, m, v;
  torch::Tensor w1, w2, w3, b1, b2, b3, g_w1, g_w2, g_w3, g_b1, g_b2, g_b3, weights;

  Mlp(int64_t d_, int64_t h_) : d(d_), h(h_) {
    const int64_t nw = d * h + h * h + h, size = nw + h + h + 1;
    flat = torch::empty({size}, torch::kFloat);
    grad = torch::zeros({size}, torch::kFloat);
    m = torch::zeros({size}, torch::kFloat);
    v = torch::zeros({size}, torch::kFloat);
    weights = flat.narrow(0, 0, nw);
    split(flat, w1, w2, w3, b1, b2, b3);
    split(grad, g_w1, g_w2, g_w3, g_b1, g_b2, g_b3);
  }

  void split(const torch::Tensor& buf, torch::Tensor& a1, torch::Tensor& a2, torch::Tensor& a3, torch::Tensor& c1,
             torch::Tensor& c2, torch::Tensor& c3) const {
    int64_t at = 0;
    auto take = [&](int64_t rows, int64_t cols) {
      auto t = buf.narrow(0, at, rows * cols).view({rows, cols});
      at += rows * cols;
      return t;
    };
    a1 = take(d, h);
    a2 = take(h, h);
    a3 = take(h, 1);
    c1 = take(1, h).view({h});
    c2 = take(1, h).view({h});
    c3 = take(1, 1).view({1});
  }

  // scikit-learn's Glorot-uniform initialisation, biases included: U(±√(6 / (fan_in + fan_out))).
  void init(at::Generator& g) {
    auto fill = [&](torch::Tensor& w, torch::Tensor& b, int64_t fan_in, int64_t fan_out) {
      const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
      w.uniform_(-bound, bound, g);
      b.uniform_(-bound, bound, g);
    };
    fill(w1, b1, d, h);
    fill(w2, b2, h, h);
    fill(w3, b3, h, 1);
    m.zero_();
    v.zero_();
  }

  torch::Tensor logits(const torch::Tensor& x) const {
    auto a1 = torch::addmm(b1, x, w1).clamp_min_(0);
    auto a2 = torch::addmm(b2, a1, w2).clamp_min_(0);
    return torch::addmm(b3, a2, w3);
  }

  // One mini-batch: fills `grad` with scikit-learn's gradient and adds the batch's summed loss
  // (cross-entropy plus α/2·‖W‖², i.e. the batch mean loss times its size) to `loss_sum`.
  void backprop(const torch::Tensor& x, const torch::Tensor& y, double alpha, torch::Tensor& loss_sum) {
    const auto batch = static_cast<double>(x.size(0));
    auto a1 = torch::addmm(b1, x, w1).clamp_min_(0);
    auto a2 = torch::addmm(b2, a1, w2).clamp_min_(0);
    auto logit = torch::addmm(b3, a2, w3);
    loss_sum.add_(torch::binary_cross_entropy_with_logits(logit.clamp(-kLogitClip, kLogitClip), y, {}, {},
                                                          at::Reduction::Sum));
    loss_sum.add_(weights.dot(weights), 0.5 * alpha);
    // δ3 = σ(logit) - y; each layer: ∂W = (aᵀδ + αW)/B, ∂b = mean δ; δ goes back through W and ReLU.
    auto d3 = logit.sigmoid_().sub_(y);
    torch::addmm_out(g_w3, w3, a2.t(), d3, alpha, 1);
    torch::sum_out(g_b3, d3, 0);
    auto d2 = torch::threshold_backward(torch::mm(d3, w3.t()), a2, 0);
    torch::addmm_out(g_w2, w2, a1.t(), d2, alpha, 1);
    torch::sum_out(g_b2, d2, 0);
    auto d1 = torch::threshold_backward(torch::mm(d2, w2.t()), a1, 0);
    torch::addmm_out(g_w1, w1, x.t(), d1, alpha, 1);
    torch::sum_out(g_b1, d1, 0);
    grad.div_(batch);
  }

  // scikit-learn's Adam step t (1-based).
  void adam(int64_t t, double lr) {
    constexpr double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    const double lr_t = lr * std::sqrt(1 - std::pow(beta2, static_cast<double>(t))) / (1 - std::pow(beta1, static_cast<double>(t)));
    m.mul_(beta1).add_(grad, 1 - beta1);
    v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    flat.addcdiv_(m, v.sqrt().add_(eps), -lr_t);
  }
};

// Trains a fresh classifier on (x, y) and returns its accuracy on (x_test, y_test) and its epochs.
std::pair<double, int64_t> fit_and_score(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& x_test,
                                         const torch::Tensor& y_test, int64_t hidden, const C2stOptions& o) {
  auto gen = at::detail::createCPUGenerator(o.seed());
  Mlp net(x.size(1), hidden);
  net.init(gen);
  const int64_t n = x.size(0), batch = std::min<int64_t>(o.batch_size(), n);
  double best = std::numeric_limits<double>::infinity();
  int64_t no_improvement = 0, step = 0, epoch = 0;
  auto loss_sum = torch::zeros({}, torch::kDouble);
  while (epoch < o.max_epochs()) {
    ++epoch;
    const auto order = torch::randperm(n, gen, torch::kLong);
    const auto xs = x.index_select(0, order), ys = y.index_select(0, order);
    loss_sum.zero_();
    for (int64_t start = 0; start < n; start += batch) {
      const int64_t b = std::min(batch, n - start);
      net.backprop(xs.narrow(0, start, b), ys.narrow(0, start, b), o.l2(), loss_sum);
      net.adam(++step, o.learning_rate());
    }
    const double loss = loss_sum.item<double>() / static_cast<double>(n);
    TORCH_CHECK(std::isfinite(loss), "c2st: the classifier's training loss is not finite (", loss, ") at epoch ", epoch);
    no_improvement = loss > best - o.tol() ? no_improvement + 1 : 0;
    best = std::min(best, loss);
    if (no_improvement > o.patience()) break;
  }
  const auto predicted = net.logits(x_test).gt(0).to(torch::kFloat);
  const double accuracy = predicted.eq(y_test).to(torch::kDouble).mean().item<double>();
  return {accuracy, epoch};
}

void check_sample(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.defined() && t.dim() == 2 && t.size(0) >= 1 && t.size(1) >= 1, "c2st: ", name,
              " must be [n >= 1, d >= 1], got ", t.defined() ? t.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(t.is_floating_point(), "c2st: ", name, " must be floating-point, got ", t.scalar_type());
}

}  // namespace

C2stResult c2st_folds(const torch::Tensor& x, const torch::Tensor& y, const C2stOptions& o) {
  check_sample(x, "x");
  check_sample(y, "y");
  TORCH_CHECK(x.size(1) == y.size(1), "c2st: x and y must have the same number of columns, got ", x.size(1), " and ",
              y.size(1));
  TORCH_CHECK(o.folds() >= 2, "c2st: needs at least 2 folds, got ", o.folds());
  const int64_t total = x.size(0) + y.size(0), d = x.size(1);
  TORCH_CHECK(total >= o.folds(), "c2st: ", total, " rows cannot be split into ", o.folds(), " folds");
  TORCH_CHECK(o.batch_size() >= 1 && o.max_epochs() >= 1 && o.patience() >= 0 && o.hidden() >= 0,
              "c2st: batch_size and max_epochs must be >= 1, patience and hidden >= 0");
  torch::NoGradGuard no_grad;
  auto a = x.detach().to(torch::kCPU, torch::kDouble);
  auto b = y.detach().to(torch::kCPU, torch::kDouble);
  TORCH_CHECK(a.isfinite().all().item<bool>() && b.isfinite().all().item<bool>(), "c2st: x and y must be finite");
  if (o.z_score()) {
    const auto mean = a.mean(0);
    auto std = a.size(0) > 1 ? a.std(0, /*unbiased=*/true) : torch::ones({d}, torch::kDouble);
    std = torch::where(std.gt(0), std, torch::ones_like(std));  // a constant column stays unscaled
    a = (a - mean) / std;
    b = (b - mean) / std;
  }
  const auto data = torch::cat({a, b}).to(torch::kFloat).contiguous();
  const auto labels = torch::cat({torch::zeros({x.size(0), 1}), torch::ones({y.size(0), 1})}).contiguous();

  // KFold(shuffle=True): one permutation, cut into folds of ⌊N/k⌋ rows, the first N mod k one longer.
  auto fold_gen = at::detail::createCPUGenerator(o.seed());
  const auto perm = torch::randperm(total, fold_gen, torch::kLong);
  const int64_t hidden = o.hidden() > 0 ? o.hidden() : 10 * d;
  C2stResult r;
  int64_t start = 0;
  for (int64_t k = 0; k < o.folds(); ++k) {
    const int64_t size = total / o.folds() + (k < total % o.folds() ? 1 : 0);
    const auto test_idx = perm.narrow(0, start, size);
    const auto train_idx = torch::cat({perm.narrow(0, 0, start), perm.narrow(0, start + size, total - start - size)});
    start += size;
    const auto [acc, epochs] = fit_and_score(data.index_select(0, train_idx), labels.index_select(0, train_idx),
                                             data.index_select(0, test_idx), labels.index_select(0, test_idx), hidden, o);
    r.fold_accuracy.push_back(acc);
    r.fold_epochs.push_back(epochs);
    r.accuracy += acc / static_cast<double>(o.folds());
  }
  return r;
}

double c2st(const torch::Tensor& x, const torch::Tensor& y, const C2stOptions& options) {
  return c2st_folds(x, y, options).accuracy;
}

}  // namespace jeffreys::metrics
