#include "jeffreys/train/trainer.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <filesystem>

#include "checkpoint_io.h"
#include "jeffreys/distributed/communicator.h"

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
  formulation.validate(constrained::term_names());
  TORCH_CHECK(options_.batch_size >= 1, "Trainer: batch_size must be >= 1");
  TORCH_CHECK(options_.flow_samples >= 1, "Trainer: flow_samples must be >= 1");
  TORCH_CHECK(options_.proxy_rows >= 0, "Trainer: proxy_rows must be >= 0");
  TORCH_CHECK(options_.divergence_threshold > 0, "Trainer: divergence_threshold must be > 0");
  request_.forward = formulation.uses("F");
  request_.proxy = formulation.uses("P");
  request_.reverse = formulation.uses("R");
  request_.degeneracy = formulation.uses("W");
  request_.flow_samples = options_.flow_samples;
  request_.proxy_rows = options_.proxy_rows;
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

void Trainer::set_communicator(std::shared_ptr<distributed::Communicator> communicator) {
  comm_ = std::move(communicator);
  if (!comm_ || comm_->size() == 1) return;
  const int64_t ranks = comm_->size();
  if (options_.batch_size < ranks)
    throw std::invalid_argument("train.batch_size " + std::to_string(options_.batch_size) + " is smaller than the " +
                                std::to_string(ranks) + " ranks");
  torch::NoGradGuard g;
  if (main_params_.numel() > 0) comm_->broadcast(main_params_.values());
  if (proxy_params_.numel() > 0) comm_->broadcast(proxy_params_.values());
}

StepEstimates Trainer::compute_gradients_shared(const torch::Tensor& x, const torch::Tensor& context) {
  const int64_t ranks = comm_->size(), rank = comm_->rank();
  const int64_t M = request_.flow_samples;
  TORCH_CHECK(x.size(0) >= ranks, "data parallel: a step's batch of ", x.size(0), " rows is smaller than the ", ranks,
              " ranks");
  TORCH_CHECK(context.defined() || !(request_.proxy || request_.reverse) || M >= ranks,
              "data parallel: train.flow_samples ", M, " is smaller than the ", ranks, " ranks");
  auto request = request_;
  request.rank = rank;
  request.ranks = ranks;
  auto t = divergence::jeffreys_terms(*flow_, energy_.get(), x, context, request, generator_);

  // Everything over all ranks from one all-reduce: each rank's pieces weighted by its share of their
  // means, plus its log-sum-exp of its importance weights in its own slot (unconditional), since
  // log Ẑ over all samples is a log-sum-exp across ranks, not a mean.
  const double row_share = t.data_share, proxy_share = t.proxy_share, sample_share = t.sample_share;
  const int64_t kSums = 6;
  auto v = torch::zeros({kSums + 2 * ranks}, torch::kFloat64);
  auto put = [&](int64_t i, const torch::Tensor& piece, double share) {
    if (piece.defined()) v[i] = piece.item<double>() * share;
  };
  put(0, t.F, row_share);
  put(1, t.P_data, proxy_share);
  put(2, t.R_samples, sample_share);
  put(3, t.log_z, proxy_share);  // conditional: the mean over contexts of log Ẑ(c)
  v[4] = t.ess * proxy_share;
  put(5, t.W, proxy_share);  // conditional only: the mean over contexts of log(K / ESS(c))
  if (t.log_w_lse.defined()) {
    v[kSums + rank] = t.log_w_lse.item<double>();
    v[kSums + ranks + rank] = t.log_w2_lse;
  }
  {
    torch::NoGradGuard g;
    comm_->all_reduce_sum(v);
  }
  const auto* a = v.data_ptr<double>();
  double log_z = a[3], ess = a[4], lse_share = 0;
  if (t.log_w_lse.defined()) {
    // d log Ẑ = Σ_r exp(lse_r - lse) d lse_r: this rank's share of the gradient of log Ẑ.
    auto lse = v.narrow(0, kSums, ranks), lse2 = v.narrow(0, kSums + ranks, ranks);
    const double all = torch::logsumexp(lse, 0).item<double>();
    log_z = all - std::log(static_cast<double>(M));
    ess = std::exp(2 * all - torch::logsumexp(lse2, 0).item<double>());
    lse_share = std::exp(a[kSums + rank] - all);
  }

  StepEstimates est;
  est.step = step_;
  std::map<std::string, double> global;
  if (request_.forward) global["F"] = a[0];
  if (request_.proxy) global["P"] = a[1] + log_z;
  if (request_.reverse) global["R"] = a[2] + log_z;
  if (request_.degeneracy) global["W"] = a[5];
  for (const auto& [name, value] : global) {
    est.terms[name] = value;
    check(name, value);
  }
  est.ess = ess;
  est.log_z = log_z;
  double loss = 0;
  for (const auto& [name, c] : primal_dual_.coefficients(constrained::Target::main))
    if (global.count(name)) loss += c * global[name];
  est.loss = loss;

  // This rank's stand-ins for the terms: weighted by its shares, so that the sum of their gradients
  // over the ranks is the gradient of the terms over the whole batch.
  std::map<std::string, torch::Tensor> local;
  // A rank without proxy rows (a subset smaller than the ranks) contributes nothing to P and R.
  torch::Tensor log_z_part, none = torch::zeros({}, flow_->tensor_options());
  if (t.log_w_lse.defined())
    log_z_part = t.log_w_lse * lse_share;
  else if (t.log_z.defined())
    log_z_part = t.log_z * proxy_share;
  if (request_.forward) local["F"] = t.F * row_share;
  if (request_.proxy) local["P"] = t.P_data.defined() ? t.P_data * proxy_share + log_z_part : none;
  if (request_.reverse) local["R"] = t.R_samples.defined() ? t.R_samples * sample_share + log_z_part : none;
  if (request_.degeneracy) local["W"] = t.W.defined() ? t.W * proxy_share : none;
  backward(local);
  finish_gradients(est);
  return est;
}

StepEstimates Trainer::compute_gradients(const torch::Tensor& x, const torch::Tensor& context) {
  main_params_.zero_grad();
  proxy_params_.zero_grad();
  const bool shared = comm_ && comm_->size() > 1;
  if ((!request_.forward || shared) && step_ == 0) {
    // Methods without F never pass data through the flow; ActNorm layers still need it once. Ranks
    // each see a share of the batch: the whole first batch initialises them, as in one process.
    torch::NoGradGuard g;
    flow_->forward(x, context);
  }
  if (shared) return compute_gradients_shared(x, context);
  auto t = divergence::jeffreys_terms(*flow_, energy_.get(), x, context, request_, generator_);
  std::map<std::string, torch::Tensor> terms;
  if (t.F.defined()) terms["F"] = t.F;
  if (t.P.defined()) terms["P"] = t.P;
  if (t.R.defined()) terms["R"] = t.R;
  if (t.W.defined()) terms["W"] = t.W;

  StepEstimates est;
  est.step = step_;
  for (const auto& [name, value] : terms) {
    est.terms[name] = value.item<double>();
    check(name, est.terms[name]);
  }
  est.ess = t.ess;
  if (t.log_z.defined()) est.log_z = t.log_z.item<double>();

  est.loss = backward(terms).item<double>();
  finish_gradients(est);
  return est;
}

torch::Tensor Trainer::backward(const std::map<std::string, torch::Tensor>& terms) {
  if (!primal_dual_.split_by_model()) {
    auto loss = primal_dual_.lagrangian(terms);
    loss.backward();
    return loss;
  }
  // A term weighted differently per model: one backward pass per model, each reaching only its parameters.
  auto loss_main = primal_dual_.lagrangian(terms, constrained::Target::main);
  auto loss_proxy = primal_dual_.lagrangian(terms, constrained::Target::proxy);
  torch::autograd::backward({loss_main}, {}, /*retain_graph=*/true, false, flow_->parameters());
  if (proxy_params_.numel() > 0) torch::autograd::backward({loss_proxy}, {}, false, false, energy_->parameters());
  return loss_main;
}

void Trainer::finish_gradients(StepEstimates& est) {
  torch::NoGradGuard g;
  if (comm_ && comm_->size() > 1) {
    // One all-reduce for both models' flat gradient buffers: on a small step each collective's
    // latency (about a millisecond for Gloo on two busy cores), not its bytes, is the cost.
    if (main_params_.numel() > 0 && proxy_params_.numel() > 0) {
      auto both = torch::cat({main_params_.grads(), proxy_params_.grads()});
      comm_->all_reduce_sum(both);
      main_params_.grads().copy_(both.narrow(0, 0, main_params_.numel()));
      proxy_params_.grads().copy_(both.narrow(0, main_params_.numel(), proxy_params_.numel()));
    } else if (main_params_.numel() > 0) {
      comm_->all_reduce_sum(main_params_.grads());
    } else if (proxy_params_.numel() > 0) {
      comm_->all_reduce_sum(proxy_params_.grads());
    }
  }
  if (main_params_.numel() > 0) est.grad_norm_main = main_params_.grads().norm().item<double>();
  if (proxy_params_.numel() > 0) est.grad_norm_proxy = proxy_params_.grads().norm().item<double>();
  if (!std::isfinite(est.grad_norm_main)) throw TrainingDiverged(step_, "gradient of the main model", est.grad_norm_main, "not finite");
  if (!std::isfinite(est.grad_norm_proxy)) throw TrainingDiverged(step_, "gradient of the proxy", est.grad_norm_proxy, "not finite");
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
  if (energy_) energy_->flow_stepped();
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
  if (request_.degeneracy) c.insert(c.begin() + 3, "W");
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
  if (request_.degeneracy) r["W"] = est.terms["W"];
  r["loss"] = est.loss;
  const auto& duals = primal_dual_.duals();
  for (size_t i = 0; i < duals.size(); ++i) {
    r["lambda_" + std::to_string(i)] = duals[i].lambda;
    r["slack_" + std::to_string(i)] = duals[i].slack;
  }
  r["ess"] = request_.proxy || request_.reverse || request_.degeneracy ? est.ess : kNaN;
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
