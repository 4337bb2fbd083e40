#pragma once
/// Shared test helpers: the bijection contract of transforms/transform.h, checked the same way for
/// every layer and for whole flows, plus small utilities (temporary files, parameter noise).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "jeffreys/flows/flow.h"

namespace jtest {

/// Largest absolute element-wise difference (both tensors must have the same shape).
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.numel() == 0) return 0.0;
  return (a.detach() - b.detach()).abs().max().item<double>();
}

/// Whether every element of a boolean tensor is true / every element is finite.
inline bool all_true(const torch::Tensor& t) { return t.all().item<bool>(); }
inline bool all_finite(const torch::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }
/// Sum of absolute values.
inline double abs_sum(const torch::Tensor& t) { return t.abs().sum().item<double>(); }

/// Adds `scale * N(0, 1)` to every parameter so that no layer stays at its (identity) initialisation.
inline void randomise_parameters(torch::nn::Module& m, double scale = 0.3) {
  torch::NoGradGuard g;
  for (auto& p : m.parameters()) p.add_(torch::randn_like(p) * scale);
}

/// A unique file name in the temporary directory, removed when the object goes out of scope.
class TempPath {
 public:
  explicit TempPath(const std::string& stem) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("jeffreys_test_" + stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".pt"))
                .string();
  }
  ~TempPath() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    std::filesystem::remove(path_ + ".tmp", ec);
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

/// Per-sample Jacobian d f(v)_i / d v_j of a row-wise map f: [B, D] -> [B, D], as [B, D, D]. Rows
/// are built one output coordinate at a time with autograd; samples must not interact (true for
/// every transform once ActNorm is initialised).
inline torch::Tensor batch_jacobian(const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& v) {
  auto vr = v.detach().clone().requires_grad_(true);
  auto out = f(vr);
  const int64_t B = v.size(0), D = v.size(1);
  EXPECT_EQ(out.sizes(), v.sizes());
  auto J = torch::zeros({B, D, D}, v.options());
  for (int64_t i = 0; i < D; ++i) {
    auto g = torch::autograd::grad({out.select(1, i).sum()}, {vr}, {}, /*retain_graph=*/true,
                                   /*create_graph=*/false, /*allow_unused=*/true)[0];
    if (g.defined()) J.select(1, i).copy_(g);
  }
  return J;
}

/// log|det J| per sample, [B].
inline torch::Tensor log_abs_det(const torch::Tensor& J) {
  auto [sign, logabsdet] = torch::linalg_slogdet(J);
  EXPECT_TRUE(all_true(sign != 0)) << "singular Jacobian";
  return logabsdet;
}

struct BijectionOptions {
  double tol = 1e-5;
  /// Whether every parameter tensor must receive a non-zero gradient from log_prob(x).sum().
  bool all_parameters_get_gradient = true;
  /// Whether a freshly built twin must differ before loading (false for parameter-free layers).
  bool twin_differs = true;
};

/// log p(x) of `m` with a standard normal base, from its forward pass (works for a single layer too).
template <typename M>
torch::Tensor contract_log_prob(M& m, const torch::Tensor& x, const torch::Tensor& context) {
  auto [z, ld] = m.forward(x, context);
  return jeffreys::flows::standard_normal_log_prob(z) + ld;
}

/// The whole bijection contract for a module `m` with `forward(x, context)` and
/// `inverse(z, context)` returning {output, log|det|} (a transform or a flow):
///  - inverse(forward(x)) == x and forward(inverse(z)) == z;
///  - forward's log-det equals log|det| of the autograd Jacobian, and so does inverse's;
///  - inverse's log-det is minus forward's at the matching point;
///  - every parameter gets a non-zero gradient from log_prob(x).sum();
///  - torch::save / torch::load into a freshly built twin reproduces the outputs exactly.
/// `x`: data-side points [B, D]; `z`: noise-side points [B, D]; `context`: [B, C] or undefined.
template <typename M>
void expect_bijection(const std::shared_ptr<M>& m, const torch::Tensor& x, const torch::Tensor& z,
                      const torch::Tensor& context, const std::function<std::shared_ptr<M>()>& make_twin,
                      BijectionOptions opt = {}) {
  ASSERT_EQ(x.dim(), 2);
  const double tol = opt.tol;

  // Round trips, both ways, with log-determinants of opposite sign at matching points.
  {
    torch::NoGradGuard g;
    auto [zx, ld_f] = m->forward(x, context);
    auto [xr, ld_i] = m->inverse(zx, context);
    ASSERT_EQ(zx.sizes(), x.sizes());
    ASSERT_EQ(ld_f.sizes(), torch::IntArrayRef({x.size(0)}));
    ASSERT_EQ(ld_i.sizes(), torch::IntArrayRef({x.size(0)}));
    EXPECT_LT(max_abs_diff(xr, x), tol) << "inverse(forward(x)) != x";
    EXPECT_LT(max_abs_diff(ld_i, -ld_f), tol) << "inverse log-det != -forward log-det";
    EXPECT_TRUE(all_finite(ld_f));

    auto [xz, ld_i2] = m->inverse(z, context);
    auto [zr, ld_f2] = m->forward(xz, context);
    EXPECT_LT(max_abs_diff(zr, z), tol) << "forward(inverse(z)) != z";
    EXPECT_LT(max_abs_diff(ld_f2, -ld_i2), tol) << "forward log-det != -inverse log-det (noise side)";
  }

  // Log-determinants against the autograd Jacobian, in both directions.
  {
    auto fwd = [&](const torch::Tensor& v) { return m->forward(v, context).first; };
    auto inv = [&](const torch::Tensor& v) { return m->inverse(v, context).first; };
    auto ld_f = m->forward(x, context).second.detach();
    auto ld_i = m->inverse(z, context).second.detach();
    EXPECT_LT(max_abs_diff(log_abs_det(batch_jacobian(fwd, x)), ld_f), tol) << "forward log-det != log|det J|";
    EXPECT_LT(max_abs_diff(log_abs_det(batch_jacobian(inv, z)), ld_i), tol) << "inverse log-det != log|det J|";
  }

  // Every parameter is trained by the likelihood.
  if (!m->parameters().empty()) {
    auto params = m->parameters();
    for (auto& p : params)
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    contract_log_prob(*m, x, context).sum().backward();
    for (const auto& np : m->named_parameters()) {
      const auto& g = np.value().grad();
      if (!opt.all_parameters_get_gradient) continue;
      EXPECT_TRUE(g.defined()) << "parameter '" << np.key() << "' got no gradient";
      if (!g.defined()) continue;
      EXPECT_TRUE(all_finite(g)) << "parameter '" << np.key() << "' has a non-finite gradient";
      EXPECT_GT(abs_sum(g), 0.0) << "parameter '" << np.key() << "' got a zero gradient";
    }
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
  }

  // Serialisation round trip into a freshly built twin.
  {
    torch::NoGradGuard g;
    TempPath path("bijection");
    torch::save(m, path.str());
    auto twin = make_twin();
    auto [z_ref, ld_ref] = m->forward(x, context);
    auto [x_ref, ldi_ref] = m->inverse(z, context);
    if (opt.twin_differs) {
      auto [z_before, ld_before] = twin->forward(x, context);
      EXPECT_FALSE(torch::equal(z_before, z_ref)) << "the twin already matched before loading: the check is vacuous";
    }
    torch::load(twin, path.str());
    auto [z_tw, ld_tw] = twin->forward(x, context);
    auto [x_tw, ldi_tw] = twin->inverse(z, context);
    EXPECT_TRUE(torch::equal(z_tw, z_ref)) << "loaded twin: forward output differs";
    EXPECT_TRUE(torch::equal(ld_tw, ld_ref)) << "loaded twin: forward log-det differs";
    EXPECT_TRUE(torch::equal(x_tw, x_ref)) << "loaded twin: inverse output differs";
    EXPECT_TRUE(torch::equal(ldi_tw, ldi_ref)) << "loaded twin: inverse log-det differs";
  }
}

}  // namespace jtest
