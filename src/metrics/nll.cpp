#include "jeffreys/metrics/nll.h"

#include <torch/torch.h>

#include "jeffreys/divergence/importance.h"

namespace jeffreys::metrics {

namespace {

/// Puts a module in eval mode for a scope and restores its previous mode.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& m) : module_(m), was_training_(m.is_training()) { module_.eval(); }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

void check_rows(const torch::Tensor& x, int64_t features, const char* who) {
  TORCH_CHECK(x.defined() && x.dim() == 2 && x.size(1) == features && x.size(0) >= 1, who,
              ": x must be [N >= 1, ", features, "], got ", x.defined() ? x.sizes() : torch::IntArrayRef{});
}

}  // namespace

double flow_nll(flows::FlowImpl& flow, const torch::Tensor& x, const torch::Tensor& context, int64_t chunk) {
  check_rows(x, flow.features(), "flow_nll");
  TORCH_CHECK(chunk >= 1, "flow_nll: chunk must be >= 1");
  TORCH_CHECK(!context.defined() || context.size(0) == x.size(0), "flow_nll: context must have one row per x row");
  torch::NoGradGuard g;
  EvalModeGuard eval(flow);
  const auto opts = flow.tensor_options();
  double total = 0;
  for (int64_t start = 0; start < x.size(0); start += chunk) {
    const int64_t m = std::min(chunk, x.size(0) - start);
    auto xc = x.narrow(0, start, m).to(opts);
    auto cc = context.defined() ? context.narrow(0, start, m).to(opts) : torch::Tensor();
    // Accumulate in float64: 10^5 float32 log-densities summed in float32 lose digits.
    total += flow.log_prob(xc, cc).to(torch::kDouble).sum().item<double>();
  }
  return -total / static_cast<double>(x.size(0));
}

ProxyNll proxy_nll(flows::FlowImpl& flow, energy::EnergyImpl& energy, const torch::Tensor& x, int64_t log_z_samples,
                   c10::optional<at::Generator> gen) {
  check_rows(x, energy.features(), "proxy_nll");
  TORCH_CHECK(energy.context_features() == 0 && flow.context_features() == 0,
              "proxy_nll: only for unconditional models (log Z would depend on the context)");
  const auto lz = divergence::estimate_log_z(flow, energy, log_z_samples, {}, 8192, gen);
  torch::NoGradGuard g;
  auto params = energy.parameters();
  const auto opts = params.empty() ? x.options() : params.front().options();
  constexpr int64_t chunk = 8192;
  double total = 0;
  for (int64_t start = 0; start < x.size(0); start += chunk) {
    auto xc = x.narrow(0, start, std::min(chunk, x.size(0) - start)).to(opts);
    total += energy.energy(xc).to(torch::kDouble).sum().item<double>();
  }
  ProxyNll out;
  out.nll = total / static_cast<double>(x.size(0)) + lz.log_z;
  out.log_z = lz.log_z;
  out.log_z_std_error = lz.std_error;
  out.ess = lz.ess;
  return out;
}

}  // namespace jeffreys::metrics
