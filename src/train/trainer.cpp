#include "jeffreys/train/trainer.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <filesystem>

#include "checkpoint_io.h"

namespace jeffreys::train {
namespace {
constexpr int64_t kCheckpointVersion = 1;

std::vector<torch::Tensor> parameters_of(torch::nn::Module* m) {
  return m == nullptr ? std::vector<torch::Tensor>{} : m->parameters();
}

}  // namespace

Trainer::Trainer(flows::Flow flow, energy::EnergyPtr energy, constrained::Formulation formulation,
                 TrainerOptions options)
    : flow_(std::move(flow)), energy_(std::move(energy)), primal_dual_(formulation), options_(options) {
  formulation.validate({"F", "P", "R"});
  TORCH_CHECK(options_.batch_size >= 1, "Trainer: batch_size must be >= 1");
  TORCH_CHECK(options_.flow_samples >= 1, "Trainer: flow_samples must be >= 1");
  TORCH_CHECK(options_.divergence_threshold > 0, "Trainer: divergence_threshold must be > 0");
  request_.forward = formulation.uses("F");
  request_.proxy = formulation.uses("P");
  request_.reverse = formulation.uses("R");
  request_.flow_samples = options_.flow_samples;
  TORCH_CHECK(!formulation.uses_proxy() || energy_ != nullptr, "Trainer: method '", formulation.name,
              "' needs an energy model");
  main_params_ = FlatParameters(flow_->parameters());
  proxy_params_ = FlatParameters(formulation.uses_proxy() ? parameters_of(energy_.get()) : std::vector<torch::Tensor>{});
  main_opt_ = FlatAdam(&main_params_, options_.main.adam);
  proxy_opt_ = FlatAdam(&proxy_params_, options_.proxy.adam);
  if (flow_->tensor_options().device().is_cpu()) {
    generator_ = at::detail::createCPUGenerator(options_.seed);
  }
}

void Trainer::check(const std::string& term, double value) const {
  if (!std::isfinite(value)) throw TrainingDiverged(step_, term, value, "not finite");
  if (std::abs(value) > options_.divergence_threshold)
    throw TrainingDiverged(step_, term, value, "magnitude above divergence_threshold " +
                                                   std::to_string(options_.divergence_threshold));
}

StepEstimates Trainer::compute_gradients(const torch::Tensor& x, const torch::Tensor& context) {
  main_params_.zero_grad();
  proxy_params_.zero_grad();
  if (!request_.forward && step_ == 0) {
    // Methods without F never pass data through the flow; ActNorm layers still need it once.
    torch::NoGradGuard g;
    flow_->forward(x, context);
  }
  auto t = divergence::jeffreys_terms(*flow_, energy_.get(), x, context, request_, generator_);
  std::map<std::string, torch::Tensor> terms;
  if (t.F.defined()) terms["F"] = t.F;
  if (t.P.defined()) terms["P"] = t.P;
  if (t.R.defined()) terms["R"] = t.R;

  StepEstimates est;
  est.step = step_;
  for (const auto& [name, value] : terms) {
    est.terms[name] = value.item<double>();
    check(name, est.terms[name]);
  }
  est.ess = t.ess;
  if (t.log_z.defined()) est.log_z = t.log_z.item<double>();

  if (!primal_dual_.split_by_model()) {
    auto loss = primal_dual_.lagrangian(terms);
    est.loss = loss.item<double>();
    loss.backward();
  } else {
    // A term weighted differently per model: one backward pass per model, each reaching only its parameters.
    auto loss_main = primal_dual_.lagrangian(terms, constrained::Target::main);
    auto loss_proxy = primal_dual_.lagrangian(terms, constrained::Target::proxy);
    est.loss = loss_main.item<double>();
    torch::autograd::backward({loss_main}, {}, /*retain_graph=*/true, false, flow_->parameters());
    if (proxy_params_.numel() > 0) torch::autograd::backward({loss_proxy}, {}, false, false, energy_->parameters());
  }
  {
    torch::NoGradGuard g;
    if (main_params_.numel() > 0) est.grad_norm_main = main_params_.grads().norm().item<double>();
    if (proxy_params_.numel() > 0) est.grad_norm_proxy = proxy_params_.grads().norm().item<double>();
  }
  if (!std::isfinite(est.grad_norm_main)) throw TrainingDiverged(step_, "gradient of the main model", est.grad_norm_main, "not finite");
  if (!std::isfinite(est.grad_norm_proxy)) throw TrainingDiverged(step_, "gradient of the proxy", est.grad_norm_proxy, "not finite");
  return est;
}

void Trainer::apply(const StepEstimates& est) {
  torch::NoGradGuard g;
  auto clip = [](FlatParameters& p, double norm, double max_norm) {
    if (max_norm > 0 && norm > max_norm) p.grads().mul_(max_norm / (norm + 1e-12));
  };
  clip(main_params_, est.grad_norm_main, options_.main.clip_grad_norm);
  clip(proxy_params_, est.grad_norm_proxy, options_.proxy.clip_grad_norm);
  main_opt_.step(options_.main.adam.lr * options_.main.schedule.factor(step_));
  proxy_opt_.step(options_.proxy.adam.lr * options_.proxy.schedule.factor(step_));
  primal_dual_.dual_step(est.terms);
  ++step_;
}

StepEstimates Trainer::step(const torch::Tensor& x, const torch::Tensor& context) {
  auto est = compute_gradients(x, context);
  apply(est);
  return est;
}

std::vector<std::string> Trainer::columns() const {
  std::vector<std::string> c = {"F", "P", "R", "loss"};
  for (size_t i = 0; i < primal_dual_.duals().size(); ++i) {
    c.push_back("lambda_" + std::to_string(i));
    c.push_back("slack_" + std::to_string(i));
  }
  c.push_back("ess");
  return c;
}

std::map<std::string, double> Trainer::step_metrics(const torch::Tensor& data) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  auto est = step_on(data);
  std::map<std::string, double> r;
  for (const char* k : {"F", "P", "R"}) r[k] = est.terms.count(k) ? est.terms[k] : kNaN;
  r["loss"] = est.loss;
  const auto& duals = primal_dual_.duals();
  for (size_t i = 0; i < duals.size(); ++i) {
    r["lambda_" + std::to_string(i)] = duals[i].lambda;
    r["slack_" + std::to_string(i)] = duals[i].slack;
  }
  r["ess"] = request_.proxy || request_.reverse ? est.ess : kNaN;
  return r;
}

StepEstimates Trainer::step_on(const torch::Tensor& data, const torch::Tensor& context) {
  TORCH_CHECK(data.dim() == 2 && data.size(0) >= 1, "Trainer::step_on: data must be [N, D] with N >= 1");
  auto idx = torch::randint(0, data.size(0), {options_.batch_size}, generator_,
                            torch::TensorOptions().dtype(torch::kLong).device(data.device()));
  return step(data.index_select(0, idx), context.defined() ? context.index_select(0, idx) : torch::Tensor());
}

void Trainer::save(const std::string& path) const {
  torch::serialize::OutputArchive a;
  detail::write_version(a, kCheckpointVersion);
  a.write("method", c10::IValue(primal_dual_.formulation().name));
  a.write("step", torch::tensor(step_));
  detail::write_model(a, "main", flow_.get(), main_params_, main_opt_);
  detail::write_model(a, "proxy", energy_.get(), proxy_params_, proxy_opt_);
  primal_dual_.save(a);
  if (generator_.has_value()) a.write("rng", generator_->get_state());
  detail::save_archive(a, path);
}

void Trainer::load(const std::string& path) {
  detail::CheckpointReader a(path);
  a.require_version(kCheckpointVersion);
  c10::IValue method;
  if (!a.try_read("method", method) || method.toStringRef() != primal_dual_.formulation().name)
    a.fail("written for method '" + (method.isString() ? method.toStringRef() : std::string("?")) + "', not '" +
           primal_dual_.formulation().name + "'");
  a.read_model("main", flow_.get(), main_params_, main_opt_);
  a.read_model("proxy", energy_.get(), proxy_params_, proxy_opt_);
  a.load_state(primal_dual_);
  if (generator_.has_value()) generator_->set_state(a.read("rng"));
  step_ = a.read("step").item<int64_t>();
}

}  // namespace jeffreys::train
