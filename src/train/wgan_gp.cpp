#include "jeffreys/train/wgan_gp.h"

#include <torch/torch.h>

#include <cmath>

#include "checkpoint_io.h"

namespace jeffreys::train {

nn::MLP make_critic(int64_t features, int64_t hidden, int64_t depth) {
  return nn::MLP(nn::MLPOptions(features, 1).hidden(hidden).depth(depth).fused(false));
}

WganGpTrainer::WganGpTrainer(flows::Flow generator, nn::MLP critic, WganGpOptions options)
    : generator_(std::move(generator)), critic_(std::move(critic)), options_(options) {
  TORCH_CHECK(options_.batch_size >= 1, "WGAN-GP: batch_size must be >= 1");
  TORCH_CHECK(options_.critic_steps >= 1, "WGAN-GP: critic_steps must be >= 1");
  TORCH_CHECK(options_.gp_weight >= 0, "WGAN-GP: gp_weight must be >= 0");
  TORCH_CHECK(!critic_->options.fused(), "WGAN-GP: the critic needs MLPOptions::fused(false) (double backward)");
  TORCH_CHECK(critic_->options.out_features() == 1, "WGAN-GP: the critic must have one output");
  gen_params_ = FlatParameters(generator_->parameters());
  critic_params_ = FlatParameters(critic_->parameters());
  gen_opt_ = FlatAdam(&gen_params_, options_.generator);
  critic_opt_ = FlatAdam(&critic_params_, options_.critic);
  rng_ = at::detail::createCPUGenerator(options_.seed);
}

void WganGpTrainer::check(const std::string& what, double v) const {
  if (!std::isfinite(v)) throw TrainingDiverged(step_, what, v, "not finite");
  if (std::abs(v) > options_.divergence_threshold)
    throw TrainingDiverged(step_, what, v, "magnitude above divergence_threshold");
}

WganStep WganGpTrainer::step_on(const torch::Tensor& data) {
  TORCH_CHECK(data.dim() == 2 && data.size(1) == generator_->features(), "WGAN-GP: data must be [N, ",
              generator_->features(), "]");
  const int64_t B = options_.batch_size;
  const auto idx_opts = torch::TensorOptions().dtype(torch::kLong).device(data.device());
  WganStep out;
  out.step = step_;
  for (int64_t k = 0; k < options_.critic_steps; ++k) {
    critic_params_.zero_grad();
    auto real = data.index_select(0, torch::randint(0, data.size(0), {B}, rng_, idx_opts));
    torch::Tensor fake;
    {
      torch::NoGradGuard g;
      fake = generator_->sample(B, {}, rng_);
    }
    auto eps = torch::rand({B, 1}, rng_, real.options());
    auto mix = (eps * real + (1 - eps) * fake).requires_grad_(true);
    auto d_mix = critic_->forward(mix);
    auto grad = torch::autograd::grad({d_mix.sum()}, {mix}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    auto gp = (grad.norm(2, 1) - 1).square().mean();
    auto w = critic_->forward(real).mean() - critic_->forward(fake).mean();
    auto loss = -w + options_.gp_weight * gp;
    loss.backward();
    out.critic_loss = loss.item<double>();
    out.wasserstein = w.item<double>();
    out.gradient_penalty = gp.item<double>();
    check("critic loss", out.critic_loss);
    critic_opt_.step(options_.critic.lr * options_.schedule.factor(step_));
  }
  gen_params_.zero_grad();
  critic_params_.zero_grad();
  auto g_loss = -critic_->forward(generator_->sample(B, {}, rng_)).mean();
  g_loss.backward();
  out.generator_loss = g_loss.item<double>();
  check("generator loss", out.generator_loss);
  gen_opt_.step(options_.generator.lr * options_.schedule.factor(step_));
  ++step_;
  return out;
}

void WganGpTrainer::save(const std::string& path) const {
  torch::serialize::OutputArchive a;
  detail::write_version(a, 1);
  a.write("method", c10::IValue(std::string("wgan-gp")));
  a.write("step", torch::tensor(step_));
  detail::write_model(a, "main", generator_.get(), gen_params_, gen_opt_);
  detail::write_model(a, "critic", critic_.get(), critic_params_, critic_opt_);
  a.write("rng", rng_.get_state());
  detail::save_archive(a, path);
}

void WganGpTrainer::load(const std::string& path) {
  detail::CheckpointReader a(path);
  a.require_version(1);
  c10::IValue method;
  if (!a.try_read("method", method) || !method.isString() || method.toStringRef() != "wgan-gp")
    a.fail("written for method '" + (method.isString() ? method.toStringRef() : std::string("?")) + "', not 'wgan-gp'");
  a.read_model("main", generator_.get(), gen_params_, gen_opt_);
  a.read_model("critic", critic_.get(), critic_params_, critic_opt_);
  rng_.set_state(a.read("rng"));
  step_ = a.read("step").item<int64_t>();
}

std::vector<std::string> WganGpTrainer::columns() const {
  return {"critic_loss", "wasserstein", "gradient_penalty", "generator_loss"};
}

std::map<std::string, double> WganGpTrainer::step_metrics(const torch::Tensor& data) {
  const auto w = step_on(data);
  return {{"critic_loss", w.critic_loss},
          {"wasserstein", w.wasserstein},
          {"gradient_penalty", w.gradient_penalty},
          {"generator_loss", w.generator_loss}};
}

}  // namespace jeffreys::train
