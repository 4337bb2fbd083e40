#include "jeffreys/sbi/posterior.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <limits>
#include <mutex>

#include "jeffreys/constrained/method_name.h"
#include "jeffreys/distributed/communicator.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/energy/langevin.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/metrics/entropy.h"
#include "jeffreys/train/models.h"
#include "jeffreys/train/trainer.h"

namespace jeffreys::sbi {

struct PosteriorEstimator::State {
  int64_t theta_dim = 0, x_dim = 0;
  constrained::Formulation formulation;
  flows::Flow flow{nullptr};
  std::shared_ptr<energy::MLPEnergyImpl> energy;  // ψ's network (its parameters: the snapshots)
  energy::EnergyPtr proxy_model;                  // q_ψ: the network, or the flow tilted by it (-T)
  std::unique_ptr<train::Trainer> trainer;
  train::TrainerOptions trainer_options;
  /// "-warm": still in the warm-up (F and P only); the full formulation takes over at its first plateau.
  bool warm = false;
  bool proxy = false;
  torch::Tensor theta_mean, theta_std, x_mean, x_std;  // float32 [1, d]
  std::shared_ptr<distributed::Communicator> comm;

  torch::Tensor z_theta(const torch::Tensor& t) const {
    return ((t.to(torch::kDouble) - theta_mean.to(torch::kDouble)) / theta_std.to(torch::kDouble)).to(torch::kFloat);
  }
  torch::Tensor z_x(const torch::Tensor& x) const {
    return ((x.to(torch::kDouble) - x_mean.to(torch::kDouble)) / x_std.to(torch::kDouble)).to(torch::kFloat);
  }
  /// Back to θ's coordinates, on the CPU in float64.
  torch::Tensor unz_theta(const torch::Tensor& z) const {
    return z.cpu().to(torch::kDouble) * theta_std.to(torch::kDouble) + theta_mean.to(torch::kDouble);
  }
  /// The z-scored observation as the models' context, on their device.
  torch::Tensor context_of(const torch::Tensor& x_o, const torch::Device& device) const {
    auto x = x_o.reshape({1, -1});
    TORCH_CHECK(x.size(1) == x_dim, "posterior: the observation has ", x.size(1), " values, the task ", x_dim);
    return z_x(x.cpu()).to(device);
  }
};

namespace {

/// The warm-up formulation of "-warm": the flow by its weighted forward term, the energy by P.
constrained::Formulation warm_up_of(const constrained::Formulation& full) {
  constrained::Formulation f;
  f.name = full.name + " (warm-up)";
  double w = 1.0;
  for (const auto& t : full.objective)
    if (t.term == "F") w = t.weight;
  f.objective = {{"F", w}, {"P", 1.0}};
  return f;
}

std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone());
  return out;
}
void restore(const std::vector<torch::Tensor>& ps, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard g;
  for (size_t i = 0; i < ps.size(); ++i) ps[i].copy_(saved[i]);
}

/// The generator for draws on `device`: `cpu` itself on the CPU; elsewhere the device's default
/// generator (as the trainer uses), seeded from `cpu` so that a call stays reproducible.
at::Generator generator_on(const torch::Device& device, const at::Generator& cpu) {
  if (device.is_cpu()) return cpu;
  const auto seed = torch::randint(int64_t{1} << 62, {1}, cpu, torch::TensorOptions().dtype(torch::kLong)).item<int64_t>();
  auto g = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_current_seed(static_cast<uint64_t>(seed));
  return g;
}
}  // namespace

PosteriorEstimator::PosteriorEstimator(int64_t theta_dim, int64_t x_dim, PosteriorOptions options)
    : s_(std::make_unique<State>()), options_(std::move(options)) {
  TORCH_CHECK(theta_dim >= 1 && x_dim >= 1, "posterior: dimensions must be >= 1");
  TORCH_CHECK(options_.validation_fraction > 0 && options_.validation_fraction < 1,
              "posterior: validation_fraction must be in (0, 1)");
  TORCH_CHECK(options_.batch_size >= 1 && options_.patience >= 1 && options_.max_epochs >= 1,
              "posterior: batch_size, patience and max_epochs must be >= 1");
  s_->theta_dim = theta_dim;
  s_->x_dim = x_dim;
  constrained::MethodName spec;
  if (options_.custom_formulation) {
    spec.formulation = options_.formulation;
  } else {
    spec = constrained::parse_method_name(options_.method);
    if (spec.wgan) throw std::invalid_argument("method 'wgan-gp' trains no posterior (its flow has no likelihood term)");
  }
  s_->formulation = spec.formulation;
  s_->warm = spec.warm;
  if (spec.flow_samples > 0) options_.flow_samples = spec.flow_samples;
  if (spec.embedding > 0) options_.embedding_features = spec.embedding;
  if (spec.proxy_rows > 0) options_.proxy_contexts = spec.proxy_rows;
  TORCH_CHECK(options_.embedding_features >= 0 && options_.embedding_hidden >= 1,
              "posterior: embedding_features must be >= 0 and embedding_hidden >= 1");
  s_->formulation.validate(constrained::term_names());
  s_->proxy = s_->formulation.uses_proxy();
  // Coupling flows need two features to split; one-parameter posteriors use the autoregressive spline.
  const auto family = theta_dim >= 2 ? flows::FlowFamily::nsf : flows::FlowFamily::maf_spline;
  auto models = train::make_models(flows::FlowOptions(theta_dim)
                                       .context_features(x_dim)
                                       .family(family)
                                       .layers(options_.layers)
                                       .hidden(options_.hidden)
                                       .bins(options_.bins)
                                       .bound(options_.bound)
                                       .embedding_features(options_.embedding_features)
                                       .embedding_hidden(options_.embedding_hidden)
                                       .seed(options_.seed),
                                   energy::MLPEnergyOptions(theta_dim)
                                       .context_features(x_dim)
                                       .hidden(options_.energy_hidden)
                                       .depth(options_.energy_depth)
                                       .embedding_features(options_.embedding_features)
                                       .embedding_hidden(options_.embedding_hidden),
                                   options_.seed, options_.device, spec.tilted_proxy, spec.tilt_average);
  s_->flow = models.flow;
  s_->energy = models.energy;
  s_->proxy_model = models.proxy_or_energy();
  train::TrainerOptions o;
  o.flow_samples = options_.flow_samples;
  o.proxy_rows = options_.proxy_contexts;
  o.main.adam.lr = options_.lr;
  o.proxy.adam.lr = options_.lr_proxy;
  o.seed = options_.seed;
  s_->trainer_options = o;
  s_->trainer = train::make_trainer(models, s_->warm ? warm_up_of(s_->formulation) : s_->formulation, o);
}

PosteriorEstimator::~PosteriorEstimator() = default;

void PosteriorEstimator::set_communicator(std::shared_ptr<distributed::Communicator> communicator) {
  s_->comm = std::move(communicator);
  s_->trainer->set_communicator(s_->comm);
}

bool PosteriorEstimator::has_proxy() const { return s_->proxy; }
const constrained::Formulation& PosteriorEstimator::formulation() const { return s_->formulation; }

TrainingReport PosteriorEstimator::train(const torch::Tensor& theta_in, const torch::Tensor& x_in, std::ostream* progress) {
  TORCH_CHECK(theta_in.dim() == 2 && theta_in.size(1) == s_->theta_dim, "posterior: θ must be [n, ", s_->theta_dim, "]");
  TORCH_CHECK(x_in.dim() == 2 && x_in.size(1) == s_->x_dim && x_in.size(0) == theta_in.size(0),
              "posterior: x must be [n, ", s_->x_dim, "] with as many rows as θ");
  const auto t0 = std::chrono::steady_clock::now();
  auto keep = torch::isfinite(x_in.to(torch::kDouble)).all(1) & torch::isfinite(theta_in.to(torch::kDouble)).all(1);
  auto theta = theta_in.cpu().to(torch::kDouble).index({keep});
  auto x = x_in.cpu().to(torch::kDouble).index({keep});
  const int64_t n = theta.size(0);
  const int64_t n_val = std::max<int64_t>(1, static_cast<int64_t>(std::floor(options_.validation_fraction * n)));
  TORCH_CHECK(n - n_val >= 2, "posterior: ", n, " usable simulations are too few to train on");
  auto gen = at::detail::createCPUGenerator(options_.seed + 7919);
  auto perm = torch::randperm(n, gen, torch::kLong);
  auto val_idx = perm.narrow(0, 0, n_val), train_idx = perm.narrow(0, n_val, n - n_val);
  auto theta_tr = theta.index_select(0, train_idx), x_tr = x.index_select(0, train_idx);
  // z-scoring from the training split, as sbi does; a constant column is left unscaled.
  auto stat = [](const torch::Tensor& t, torch::Tensor& mean, torch::Tensor& std) {
    mean = t.mean(0, true).to(torch::kFloat);
    auto sd = t.std(0, /*unbiased=*/true, true);
    std = torch::where(sd > 1e-12, sd, torch::ones_like(sd)).to(torch::kFloat);
  };
  stat(theta_tr, s_->theta_mean, s_->theta_std);
  stat(x_tr, s_->x_mean, s_->x_std);
  auto zt = s_->z_theta(theta_tr), zx = s_->z_x(x_tr);
  auto zt_val = s_->z_theta(theta.index_select(0, val_idx)), zx_val = s_->z_x(x.index_select(0, val_idx));

  TrainingReport rep;
  if (s_->formulation.uses_entropy_level()) {
    // In the flow's coordinates (z-scored θ and x), where F is measured.
    auto h = metrics::conditional_knn_entropy(zt, zx);
    if (s_->formulation.entropy_capped) {
      double bound = metrics::gaussian_conditional_entropy_bound(zt, zx);
      if (s_->formulation.entropy_neural_bound) {
        // Seeded by the run's seed, so the level is the same however often the run is repeated.
        metrics::NeuralGaussianBoundOptions o;
        o.seed = options_.seed;
        rep.data_entropy_neural_bound = metrics::neural_gaussian_conditional_entropy_bound(zt, zx, o);
        bound = metrics::tighter_bound(bound, rep.data_entropy_neural_bound);
      }
      h = metrics::cap_by_gaussian_bound(h, bound);
      rep.data_entropy_knn = h.knn;
      rep.data_entropy_gaussian_bound = h.gaussian_bound;
    }
    rep.data_entropy = h.value;
    rep.data_entropy_dequantised = h.dequantised;
    s_->trainer->primal_dual().set_data_entropy(rep.data_entropy);
  }
  const auto device = options_.device;
  zt = zt.to(device), zx = zx.to(device), zt_val = zt_val.to(device), zx_val = zx_val.to(device);
  rep.columns = {"epoch", "steps", "F", "P", "R", "lambda_0", "validation_nll", "seconds"};
  const int64_t n_tr = zt.size(0), batch = std::min(options_.batch_size, n_tr);
  auto flow_params = s_->flow->parameters();
  auto energy_params = s_->proxy ? s_->energy->parameters() : std::vector<torch::Tensor>{};
  // The proxy's buffers belong to its state too: θ̄ of a moving-average tilt (-T<d>) goes back to the
  // best epoch with the models.
  if (s_->proxy)
    for (const auto& b : s_->proxy_model->buffers()) energy_params.push_back(b);
  std::vector<torch::Tensor> best_flow = snapshot(flow_params), best_energy = snapshot(energy_params);
  double best = std::numeric_limits<double>::infinity();
  int64_t since_best = 0;
  auto validation_nll = [&] {
    torch::NoGradGuard g;
    return -s_->flow->log_prob(zt_val, zx_val).mean().item<double>();
  };
  const int64_t ranks = s_->comm ? s_->comm->size() : 1;
  for (int64_t epoch = 1; epoch <= options_.max_epochs; ++epoch) {
    auto order = torch::randperm(n_tr, gen, torch::kLong);
    std::map<std::string, double> sum;
    int64_t batches = 0;
    // Every pair once per epoch, the last batch possibly shorter (sbi's DataLoader).
    for (int64_t b = 0; b < n_tr; b += batch) {
      auto idx = order.narrow(0, b, std::min(batch, n_tr - b)).to(device);
      if (ranks > idx.size(0)) continue;  // data parallel: too few pairs left to give every rank one
      auto est = s_->trainer->step(zt.index_select(0, idx), zx.index_select(0, idx));
      for (const auto& [k, v] : est.terms) sum[k] += v;
      ++batches;
      ++rep.steps;
    }
    const double v = validation_nll();
    if (!std::isfinite(v)) throw std::runtime_error("posterior: validation NLL is not finite at epoch " + std::to_string(epoch));
    const auto& duals = s_->trainer->primal_dual().duals();
    auto term = [&](const char* k) {
      return sum.count(k) ? sum[k] / static_cast<double>(batches) : std::numeric_limits<double>::quiet_NaN();
    };
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rep.rows.push_back({static_cast<double>(epoch), static_cast<double>(rep.steps), term("F"), term("P"), term("R"),
                        duals.empty() ? std::numeric_limits<double>::quiet_NaN() : duals[0].lambda, v, secs});
    rep.epochs = epoch;
    if (v < best) {
      best = v;
      rep.best_epoch = epoch;
      since_best = 0;
      best_flow = snapshot(flow_params);
      if (s_->proxy) best_energy = snapshot(energy_params);
    } else if (++since_best >= options_.patience) {
      if (s_->warm) {
        // The warm-up has converged under the stopping rule: restart from its best state with the
        // reverse term on (fresh optimiser and duals), the same patience from here.
        s_->warm = false;
        rep.switch_epoch = epoch;
        restore(flow_params, best_flow);
        restore(energy_params, best_energy);
        s_->trainer = train::make_trainer({s_->flow, s_->energy, s_->proxy_model}, s_->formulation, s_->trainer_options);
        if (std::isfinite(rep.data_entropy)) s_->trainer->primal_dual().set_data_entropy(rep.data_entropy);
        if (s_->comm) s_->trainer->set_communicator(s_->comm);
        since_best = 0;
      } else {
        rep.stopped_early = true;
      }
    }
    if (progress != nullptr && (epoch % 100 == 0 || rep.stopped_early))
      *progress << "epoch " << epoch << "  validation NLL " << std::fixed << std::setprecision(4) << v << "  best "
                << best << " (epoch " << rep.best_epoch << ")" << std::defaultfloat << "\n"
                << std::flush;
    if (options_.epoch_hook && options_.epoch_hook_every > 0 &&
        (epoch % options_.epoch_hook_every == 0 || rep.stopped_early || epoch == options_.max_epochs))
      options_.epoch_hook(epoch, *this);
    if (rep.stopped_early) break;
  }
  restore(flow_params, best_flow);
  if (s_->proxy) restore(energy_params, best_energy);
  rep.best_validation_nll = best;
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

torch::Tensor PosteriorEstimator::sample(const torch::Tensor& x_o, int64_t n, at::Generator generator,
                                         const SupportTest& support) {
  TORCH_CHECK(n >= 1, "posterior: n must be >= 1");
  TORCH_CHECK(s_->theta_mean.defined(), "posterior: train it first");
  torch::NoGradGuard g;
  s_->flow->eval();
  auto ctx = s_->context_of(x_o, options_.device);
  auto draws = generator_on(options_.device, generator);
  std::vector<torch::Tensor> kept;
  int64_t have = 0, drawn = 0;
  while (have < n) {
    const int64_t m = std::max<int64_t>(1000, 2 * (n - have));
    auto z = s_->flow->sample_and_log_prob_per_context(m, ctx, draws).first;
    auto theta = s_->unz_theta(z);
    drawn += m;
    if (support) theta = theta.index({support(theta)});
    have += theta.size(0);
    kept.push_back(theta);
    if (have * 1000 < drawn && drawn >= 100000) {
      s_->flow->train();
      throw std::runtime_error("posterior: fewer than 1 in 1000 flow draws lie in the prior's support");
    }
  }
  s_->flow->train();
  return torch::cat(kept).narrow(0, 0, n);
}

torch::Tensor PosteriorEstimator::sample_proxy(const torch::Tensor& x_o, int64_t n, int64_t proposals,
                                               at::Generator generator, const SupportTest& support) {
  ProxySampling sampling;
  sampling.proposals = proposals;
  return sample_proxy(x_o, n, sampling, std::move(generator), support).theta;
}

ProxySample PosteriorEstimator::sample_proxy(const torch::Tensor& x_o, int64_t n, const ProxySampling& sampling,
                                             at::Generator generator, const SupportTest& support) {
  TORCH_CHECK(s_->proxy, "posterior: method '", s_->formulation.name, "' trains no proxy");
  TORCH_CHECK(n >= 1 && sampling.proposals >= 1, "posterior: n and proposals must be >= 1");
  TORCH_CHECK(sampling.mala_steps >= 0 && sampling.mala_step_size > 0, "posterior: mala_steps >= 0 and mala_step_size > 0 required");
  ProxySample out;
  // The flow samples in eval mode and trains again afterwards, whatever is thrown.
  struct EvalMode {
    torch::nn::Module& m;
    explicit EvalMode(torch::nn::Module& module) : m(module) { m.eval(); }
    ~EvalMode() { m.train(); }
  } eval_mode(*s_->flow);
  auto ctx = s_->context_of(x_o, options_.device);
  auto draws = generator_on(options_.device, generator);
  torch::Tensor z;
  {
    torch::NoGradGuard g;
    auto [proposal, lq] = s_->flow->sample_and_log_prob_per_context(sampling.proposals, ctx, draws);
    auto log_w = (-s_->proxy_model->energy_per_context(proposal, ctx) - lq).to(torch::kDouble);
    // Outside the prior's support the posterior is zero: such proposals get no weight.
    if (support)
      log_w = torch::where(support(s_->unz_theta(proposal)).to(log_w.device()), log_w,
                           torch::full_like(log_w, -std::numeric_limits<double>::infinity()));
    TORCH_CHECK(torch::isfinite(log_w).any().item<bool>(), "posterior: no proxy proposal lies in the prior's support");
    auto w = torch::exp(log_w - log_w.max());
    out.ess = (w.sum().square() / w.square().sum()).item<double>();
    auto idx = torch::multinomial(w, n, /*replacement=*/true, draws);
    z = proposal.index_select(0, idx);
  }
  if (sampling.mala_steps > 0) {
    // In z-scored coordinates (a constant Jacobian away from θ's), log q_ψ = -E_ψ + const.
    auto log_density = [&](const torch::Tensor& zz) {
      auto lp = -s_->proxy_model->energy_per_context(zz, ctx);
      if (!support) return lp;
      auto inside = support(s_->unz_theta(zz.detach())).to(lp.device());
      return torch::where(inside, lp, torch::full_like(lp, -std::numeric_limits<double>::infinity()));
    };
    auto r = energy::mala(log_density, z,
                          energy::MalaOptions().steps(sampling.mala_steps).step_size(sampling.mala_step_size), draws);
    z = r.x;
    out.acceptance = r.acceptance;
    out.step_size = r.step_size;
  }
  out.theta = s_->unz_theta(z);
  return out;
}

torch::Tensor PosteriorEstimator::log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) {
  TORCH_CHECK(s_->theta_mean.defined(), "posterior: train it first");
  torch::NoGradGuard g;
  s_->flow->eval();
  auto ctx = s_->context_of(x_o, options_.device).expand({theta.size(0), s_->x_dim}).contiguous();
  auto lp = s_->flow->log_prob(s_->z_theta(theta.cpu()).to(options_.device), ctx).cpu().to(torch::kDouble);
  s_->flow->train();
  return lp - s_->theta_std.to(torch::kDouble).log().sum();
}

}  // namespace jeffreys::sbi
