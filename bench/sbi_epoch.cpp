// Where a joint SBI epoch's time goes, against an NPE epoch: gaussian_linear-sized models (θ and x
// of 10 dimensions, sbibm's NSF: 5 couplings of width 50, 10 bins; energy 50-50) on one batch of
// 9,000 contexts (10^4 simulations, 10% held out: one step per epoch), K flow samples per context.
// Each component is timed alone, forward and backward, one thread, median of several repetitions:
//   F           the NPE step's loss: -log q(θ | x) on the batch
//   sample      K flow samples per context and their log-density (forward)
//   energy      the energy on the detached samples and the data (log Ẑ, P), forward
//   energy(y)   the energy on the samples with their graph (R), forward
//   backward    of the whole joint loss
// Usage: sbi_epoch [K] [proxy contexts (0: all)] [repetitions]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "jeffreys/core/allocator.h"
#include "jeffreys/core/threads.h"
#include "jeffreys/divergence/importance.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/train/models.h"

namespace {
using clock_type = std::chrono::steady_clock;
double ms_since(clock_type::time_point t) { return std::chrono::duration<double, std::milli>(clock_type::now() - t).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  using namespace jeffreys;
  const int64_t K = argc > 1 ? std::atoll(argv[1]) : 16;
  const int64_t S_arg = argc > 2 ? std::atoll(argv[2]) : 0;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  set_num_threads(1);
  keep_freed_memory();
  const int64_t D = 10, B = 9000, S = S_arg > 0 ? std::min(S_arg, B) : B;
  auto models = train::make_models(flows::FlowOptions(D).context_features(D).family(flows::FlowFamily::nsf).layers(5)
                                       .hidden(50).bins(10).bound(3.0).seed(0),
                                   energy::MLPEnergyOptions(D).context_features(D).hidden(50).depth(2), 0);
  auto& flow = *models.flow;
  auto& energy = *models.energy;
  auto gen = at::detail::createCPUGenerator(1);
  auto theta = torch::randn({B, D}, gen, torch::kFloat), x = torch::randn({B, D}, gen, torch::kFloat);
  std::vector<double> t_f, t_fb, t_sample, t_energy, t_energy_y, t_backward, t_total;
  for (int r = 0; r < reps; ++r) {
    for (auto& p : flow.parameters()) p.mutable_grad() = torch::Tensor();
    for (auto& p : energy.parameters()) p.mutable_grad() = torch::Tensor();
    // NPE: F forward and backward.
    auto t0 = clock_type::now();
    auto F = -flow.log_prob(theta, x).mean();
    t_f.push_back(ms_since(t0));
    F.backward();
    t_fb.push_back(ms_since(t0));
    // The joint step's other pieces, on S of the contexts.
    auto ts = clock_type::now();
    auto xs = S < B ? x.narrow(0, 0, S) : x;
    auto thetas = S < B ? theta.narrow(0, 0, S) : theta;
    auto [y, log_py] = flow.sample_and_log_prob_per_context(K, xs, gen);
    t_sample.push_back(ms_since(ts));
    auto te = clock_type::now();
    auto both = energy.energy_per_context(torch::cat({y.detach(), thetas}), xs);
    auto e_fixed = both.narrow(0, 0, K * S), e_data = both.narrow(0, K * S, S);
    auto lz = divergence::log_z_from_log_weights((-e_fixed - log_py.detach()).view({K, S}));
    auto log_z = lz.log_z.mean();
    t_energy.push_back(ms_since(te));
    auto ty = clock_type::now();
    auto R = (log_py + energy.energy_per_context(y, xs)).mean() + log_z;
    t_energy_y.push_back(ms_since(ty));
    auto P = e_data.mean() + log_z;
    auto tb = clock_type::now();
    (R + P).backward();
    t_backward.push_back(ms_since(tb));
    t_total.push_back(ms_since(t0));
  }
  const double f = median(t_fb), total = median(t_total);
  std::printf("K=%lld proxy_contexts=%lld of %lld, median of %d (ms):\n", static_cast<long long>(K),
              static_cast<long long>(S), static_cast<long long>(B), reps);
  std::printf("  F forward %.1f, F forward+backward (the NPE step) %.1f\n", median(t_f), f);
  std::printf("  sample %.1f, energy (log Z, P) %.1f, energy(y) (R) %.1f, backward of P and R %.1f\n", median(t_sample),
              median(t_energy), median(t_energy_y), median(t_backward));
  std::printf("sbi-epoch: npe_ms=%.1f joint_ms=%.1f ratio=%.2f\n", f, total, total / f);
  return 0;
}
