#include "jeffreys/train/models.h"

#include <torch/torch.h>

#include "jeffreys/energy/tilted.h"

namespace jeffreys::train {

Models make_models(const flows::FlowOptions& flow, const energy::MLPEnergyOptions& energy, uint64_t seed,
                   const torch::Device& device, bool tilted, double tilt_average) {
  torch::manual_seed(seed);
  Models m;
  m.flow = flows::make_flow(flow);
  m.energy = std::make_shared<energy::MLPEnergyImpl>(energy);
  m.flow->to(device);
  m.energy->to(device);
  if (tilted) {
    // The tilt starts near zero, so the proxy starts as the flow: shrink the energy's last layer.
    torch::NoGradGuard g;
    auto params = m.energy->net->parameters();
    for (size_t i = params.size() >= 2 ? params.size() - 2 : 0; i < params.size(); ++i) params[i].mul_(0.01);
    flows::Flow average{nullptr};
    if (tilt_average > 0) {
      // A second flow of the same architecture for θ̄ (the proxy copies θ into it). Building it
      // draws from the global generator: its state is put back, so the run's later draws are the
      // same with or without the average.
      auto gen = at::detail::getDefaultCPUGenerator();
      const auto state = gen.get_state();
      average = flows::make_flow(flow);
      gen.set_state(state);
      average->to(device);
    }
    m.proxy = std::make_shared<energy::TiltedEnergyImpl>(m.energy, m.flow, average, tilt_average);
  }
  return m;
}

std::unique_ptr<Trainer> make_trainer(const Models& models, const constrained::Formulation& formulation,
                                      const TrainerOptions& options) {
  return std::make_unique<Trainer>(models.flow, formulation.uses_proxy() ? models.proxy_or_energy() : nullptr,
                                   formulation, options);
}

}  // namespace jeffreys::train
