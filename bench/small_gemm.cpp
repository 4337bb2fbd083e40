// OpenBLAS against libxsmm (JIT-generated kernels for one shape) on the matrix products of the
// fused Linear nodes: y = x Wᵀ, dx = dy W, dW = dyᵀ x, for the benchmark's hidden layers (batch
// 256, 128 × 128) and the SBI posterior's (batch 9,000, 50 × 50). One thread, column-major calls
// (row-major operands read as their transposes), results checked against each other.
// Built only where libxsmm is installed (libxsmm-dev): cmake --build build --target small_gemm
#include <libxsmm.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <tuple>
#include <vector>

extern "C" void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha, const float* a,
                            int lda, const float* b, int ldb, float beta, float* c, int ldc);

namespace {
constexpr int kColMajor = 102, kNoTrans = 111, kTrans = 112;

double median_us(const std::function<void()>& f) {
  for (int i = 0; i < 50; ++i) f();
  std::vector<double> t;
  for (int r = 0; r < 15; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 40; ++i) f();
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 40);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

/// C (m × n) = op(A) op(B), column-major, with both libraries; prints both times.
void compare(const char* name, int m, int n, int k, bool trans_a, bool trans_b) {
  std::mt19937 g(1);
  std::normal_distribution<float> d;
  std::vector<float> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(k) * n), c1(static_cast<size_t>(m) * n),
      c2(c1.size());
  for (auto& v : a) v = d(g);
  for (auto& v : b) v = d(g);
  const int lda = trans_a ? k : m, ldb = trans_b ? n : k, ldc = m;
  const float one = 1, zero = 0;
  const int flags = (trans_a ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) | (trans_b ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
  const libxsmm_blasint xm = m, xn = n, xk = k, xlda = lda, xldb = ldb, xldc = ldc;
  auto kernel = libxsmm_smmdispatch(xm, xn, xk, &xlda, &xldb, &xldc, &one, &zero, &flags, nullptr);
  auto blas = [&] {
    cblas_sgemm(kColMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, m, n, k, 1.f, a.data(), lda,
                b.data(), ldb, 0.f, c1.data(), ldc);
  };
  const double t_blas = median_us(blas);
  if (kernel == nullptr) {
    std::printf("%-34s openblas %8.1f us   libxsmm: no kernel for this shape\n", name, t_blas);
    return;
  }
  kernel(a.data(), b.data(), c2.data());
  double err = 0, scale = 0;
  for (size_t i = 0; i < c1.size(); ++i) {
    err = std::max(err, static_cast<double>(std::abs(c1[i] - c2[i])));
    scale = std::max(scale, static_cast<double>(std::abs(c1[i])));
  }
  const double t_x = median_us([&] { kernel(a.data(), b.data(), c2.data()); });
  const double gflop = 2.0 * m * n * k / 1e3;
  std::printf("%-34s openblas %8.1f us (%5.1f GFLOP/s)   libxsmm %8.1f us (%5.1f GFLOP/s)   ratio %.2f   max diff %.1e\n",
              name, t_blas, gflop / t_blas, t_x, gflop / t_x, t_blas / t_x, err / scale);
}
}  // namespace

int main() {
  libxsmm_init();
  for (auto [batch, in, out, label] : {std::make_tuple(256, 128, 128, "benchmark"), std::make_tuple(9000, 50, 50, "sbi")}) {
    // Row-major x [batch, in], W [out, in], y [batch, out]; column-major they are xᵀ, Wᵀ, yᵀ.
    char name[64];
    std::snprintf(name, sizeof name, "%s y = x W^T", label);
    compare(name, out, batch, in, true, false);  // yᵀ = W xᵀ
    std::snprintf(name, sizeof name, "%s dx = dy W", label);
    compare(name, in, batch, out, false, false);  // dxᵀ = Wᵀ dyᵀ
    std::snprintf(name, sizeof name, "%s dW = dy^T x", label);
    compare(name, in, out, batch, false, true);  // dWᵀ = xᵀ dy
  }
  libxsmm_finalize();
  return 0;
}
