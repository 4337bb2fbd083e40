// Google Benchmark micro-benchmarks: log_prob and sample of each flow family (2D and 8D, batch 256,
// 8 layers of width 128), and the rational-quadratic spline kernel alone at the SBI shapes
// (16,000 rows of 5 elements, 10 bins: one coupling layer of sbi_epoch's flow samples), one thread.
#include <benchmark/benchmark.h>
#include <jeffreys/jeffreys.h>
#include <torch/torch.h>

namespace {
using jeffreys::flows::FlowFamily;

jeffreys::flows::Flow build(FlowFamily family, int64_t d) {
  torch::manual_seed(0);
  return jeffreys::flows::make_flow(jeffreys::flows::FlowOptions(d).family(family).layers(8).hidden(128));
}

void BM_log_prob(benchmark::State& state, FlowFamily family) {
  jeffreys::set_num_threads(1);
  const int64_t d = state.range(0);
  auto flow = build(family, d);
  auto x = torch::randn({256, d});
  torch::NoGradGuard g;
  for (auto _ : state) benchmark::DoNotOptimize(flow->log_prob(x));
  state.SetItemsProcessed(state.iterations() * 256);
}

void BM_sample(benchmark::State& state, FlowFamily family) {
  jeffreys::set_num_threads(1);
  const int64_t d = state.range(0);
  auto flow = build(family, d);
  torch::NoGradGuard g;
  for (auto _ : state) benchmark::DoNotOptimize(flow->sample(256));
  state.SetItemsProcessed(state.iterations() * 256);
}
// One spline layer forward (or inverse) on raw parameters [rows, 29, 5], and with its backward.
void BM_spline(benchmark::State& state, bool inverse) {
  jeffreys::set_num_threads(1);
  const int64_t rows = 16000, d = 5;
  jeffreys::functional::SplineShape shape;
  shape.bins = 10;
  shape.bound = 3.0;
  torch::manual_seed(0);
  auto v = (torch::rand({rows, d}) * 6.4 - 3.2).requires_grad_(state.range(0) != 0);
  // Parameter-major, as the coupling conditioners write them: the kernel reads them without a copy.
  auto raw = torch::randn({rows, 3 * shape.bins - 1, d}).requires_grad_(state.range(0) != 0);
  auto params = raw.transpose(1, 2);
  for (auto _ : state) {
    auto [out, lad] = inverse ? jeffreys::functional::rq_spline_inverse(v, params, shape)
                              : jeffreys::functional::rq_spline_forward(v, params, shape);
    if (state.range(0) != 0) (out.sum() + lad.sum()).backward();
    benchmark::DoNotOptimize(lad);
  }
  state.SetItemsProcessed(state.iterations() * rows * d);
}
}  // namespace

BENCHMARK_CAPTURE(BM_spline, forward, false)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_spline, inverse, true)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_log_prob, realnvp, FlowFamily::realnvp)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_sample, realnvp, FlowFamily::realnvp)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_log_prob, nsf, FlowFamily::nsf)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_sample, nsf, FlowFamily::nsf)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_log_prob, maf, FlowFamily::maf)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_sample, maf, FlowFamily::maf)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_log_prob, maf_spline, FlowFamily::maf_spline)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_sample, maf_spline, FlowFamily::maf_spline)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
