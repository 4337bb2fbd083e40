// Google Benchmark micro-benchmarks: log_prob and sample of each flow family (2D and 8D, batch 256,
// 8 layers of width 128), one thread.
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
}  // namespace

BENCHMARK_CAPTURE(BM_log_prob, realnvp, FlowFamily::realnvp)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_sample, realnvp, FlowFamily::realnvp)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_log_prob, nsf, FlowFamily::nsf)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_sample, nsf, FlowFamily::nsf)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_log_prob, maf, FlowFamily::maf)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_sample, maf, FlowFamily::maf)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_log_prob, maf_spline, FlowFamily::maf_spline)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_sample, maf_spline, FlowFamily::maf_spline)->Arg(2)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
