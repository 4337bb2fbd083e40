// One joint training step in the configuration of bench/ref_step.py (its PyTorch transcription): RealNVP with 8
// affine couplings (conditioner MLPs of width 128, two hidden layers, SiLU), MLP energy 2-128-128-1,
// batch 256, 256 flow samples, Adam 1e-3 for both, one dual variable (P <= 0, resilient, α = 1,
// η = 0.01, λ0 = 1). Prints the mean milliseconds per step over `steps` steps after 20 warm-up steps.
// Usage: joint_step [steps] [batch] [hidden] [layers]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <jeffreys/jeffreys.h>
#include <torch/torch.h>

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 300;
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 256;
  const int64_t hidden = argc > 3 ? std::atoll(argv[3]) : 128;
  const int64_t layers = argc > 4 ? std::atoll(argv[4]) : 8;
  jeffreys::set_num_threads(1);
  jeffreys::keep_freed_memory();
  torch::manual_seed(0);
  using namespace jeffreys;
  auto flow = flows::make_flow(flows::FlowOptions(2).family(flows::FlowFamily::realnvp).layers(layers).hidden(hidden).depth(2));
  auto energy = std::make_shared<energy::MLPEnergyImpl>(energy::MLPEnergyOptions(2).hidden(hidden).depth(2));
  constrained::Formulation f;
  f.name = "bench";
  f.objective = {{"F", 1.0}, {"R", 1.0}};
  constrained::Constraint c;
  c.term = "P";
  c.level = 0.0;
  c.slack_cost = 1.0;
  c.dual_lr = 1e-2;
  c.dual_init = 1.0;
  f.constraints = {c};
  train::TrainerOptions opts;
  opts.batch_size = batch;
  opts.flow_samples = batch;
  train::Trainer trainer(flow, energy, f, opts);
  auto data = torch::randn({4096, 2});
  for (int i = 0; i < 20; ++i) trainer.step_on(data);
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) trainer.step_on(data);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
  std::printf("cpp_ref ms_per_step %.3f B=%ld H=%ld L=%ld\n", ms, static_cast<long>(batch), static_cast<long>(hidden),
              static_cast<long>(layers));
  return 0;
}
