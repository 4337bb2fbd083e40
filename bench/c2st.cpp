#include <chrono>
#include <cstdio>
#include <jeffreys/jeffreys.h>
#include <jeffreys/metrics/c2st.h>
#include <torch/torch.h>
int main(int argc, char** argv) {
  jeffreys::set_num_threads(1);
  const int64_t d = argc > 1 ? std::atoll(argv[1]) : 10;
  const double shift = argc > 2 ? std::atof(argv[2]) : 0.5;
  torch::manual_seed(0);
  auto x = torch::randn({10000, d});
  auto y = torch::randn({10000, d}) + shift;
  auto t0 = std::chrono::steady_clock::now();
  auto r = jeffreys::metrics::c2st_folds(x, y);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t ep = 0; for (auto e : r.fold_epochs) ep += e;
  const double h = 10.0 * d;
  const double flop_step = 2 * 200 * (d * h + h * h + h) * 3;  // fwd + 2x bwd
  const double flops = flop_step * 80 * ep;
  std::printf("d=%ld acc=%.4f seconds=%.2f epochs=%ld GFLOP/s=%.1f ms/epoch=%.2f\n", (long)d, r.accuracy, s, (long)ep, flops / s / 1e9, 1000 * s / ep);
}
