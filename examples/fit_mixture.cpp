// Fits a 2D mixture of four Gaussians with the Jeffreys method (flow + energy model, one dual
// variable) through the public API only, then reports both models' NLL on fresh samples.
// Usage: fit_mixture [steps]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <jeffreys/jeffreys.h>
#include <torch/torch.h>

namespace {
// Four Gaussians at (±2, ±2), standard deviation 0.5.
torch::Tensor draw(int64_t n) {
  auto centres = torch::tensor({2.0f, 2.0f, -2.0f, 2.0f, 2.0f, -2.0f, -2.0f, -2.0f}).view({4, 2});
  return centres.index_select(0, torch::randint(0, 4, {n})) + 0.5 * torch::randn({n, 2});
}

torch::Tensor true_log_prob(const torch::Tensor& x) {
  auto centres = torch::tensor({2.0f, 2.0f, -2.0f, 2.0f, 2.0f, -2.0f, -2.0f, -2.0f}).view({4, 2});
  auto d2 = (x.unsqueeze(1) - centres.unsqueeze(0)).square().sum(-1) / 0.25;
  return torch::logsumexp(-0.5 * d2, 1) - std::log(4.0) - std::log(2 * M_PI * 0.25);
}
}  // namespace

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 2000;
  jeffreys::set_num_threads(1);
  jeffreys::keep_freed_memory();
  torch::manual_seed(0);

  using namespace jeffreys;
  auto flow = flows::make_flow(flows::FlowOptions(2).family(flows::FlowFamily::realnvp).layers(6).hidden(64));
  auto energy = std::make_shared<energy::MLPEnergyImpl>(energy::MLPEnergyOptions(2).hidden(64));
  train::TrainerOptions options;
  options.batch_size = 256;
  options.flow_samples = 256;
  train::Trainer trainer(flow, energy, constrained::formulation_by_name("jeffreys"), options);

  auto data = draw(2000);
  for (int64_t s = 0; s < steps; ++s) {
    auto est = trainer.step_on(data);
    if (s % 500 == 0 || s + 1 == steps)
      std::printf("step %5lld  F %.3f  P %.3f  R %.3f  lambda %.3f  ESS %.0f\n", static_cast<long long>(s), est.terms["F"],
                  est.terms["P"], est.terms["R"], trainer.primal_dual().duals()[0].lambda, est.ess);
  }
  torch::NoGradGuard no_grad;
  flow->eval();
  auto test = draw(20000);
  const double truth = -true_log_prob(test).mean().item<double>();
  const double flow_nll = -flow->log_prob(test).mean().item<double>();
  auto log_z = divergence::estimate_log_z(*flow, *energy, 100000);
  const double energy_nll = -energy->log_prob(test, torch::tensor(log_z.log_z)).mean().item<double>();
  std::printf("NLL on 20000 fresh samples: flow %.3f, energy %.3f (log Z %.3f ± %.3f), true density %.3f\n", flow_nll,
              energy_nll, log_z.log_z, log_z.std_error, truth);
  return std::isfinite(flow_nll) && std::isfinite(energy_nll) ? 0 : 1;
}
