// Times one sbibm C2ST (metrics::c2st_folds at its defaults: 10,000 rows a side, 5 folds) of
// N(0, I) against N(shift, I) on one thread, and prints the arithmetic rate of its classifier
// training, to show how close the C2ST is to the core's limit.
// Usage: c2st_bench [d] [shift]
#include <jeffreys/jeffreys.h>
#include <jeffreys/metrics/c2st.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>

int main(int argc, char** argv) {
  jeffreys::set_num_threads(1);
  const int64_t d = argc > 1 ? std::atoll(argv[1]) : 10;
  const double shift = argc > 2 ? std::atof(argv[2]) : 0.5;
  const int64_t n = 10000;
  torch::manual_seed(0);
  auto x = torch::randn({n, d});
  auto y = torch::randn({n, d}) + shift;
  const jeffreys::metrics::C2stOptions o;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = jeffreys::metrics::c2st_folds(x, y, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t epochs = 0;
  for (auto e : r.fold_epochs) epochs += e;
  // Per mini-batch: the forward pass through d -> 10d -> 10d -> 1, and about twice that backward.
  const double h = 10.0 * static_cast<double>(d), b = static_cast<double>(o.batch_size());
  const double flop_per_batch = 3 * 2 * b * (static_cast<double>(d) * h + h * h + h);
  const double train_rows = static_cast<double>(2 * n) * static_cast<double>(o.folds() - 1) / static_cast<double>(o.folds());
  const double flops = flop_per_batch * std::ceil(train_rows / b) * static_cast<double>(epochs);
  std::printf("d=%ld acc=%.4f seconds=%.2f epochs=%ld GFLOP/s=%.1f ms/epoch=%.2f\n", static_cast<long>(d), r.accuracy,
              s, static_cast<long>(epochs), flops / s / 1e9, 1000 * s / static_cast<double>(epochs));
}
