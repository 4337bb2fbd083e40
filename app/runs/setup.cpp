#include "app/runs/setup.h"

#include "jeffreys/constrained/method_name.h"

#include <algorithm>

#include "jeffreys/core/allocator.h"
#include "jeffreys/core/threads.h"
#include "jeffreys/data/csv.h"
#include "jeffreys/data/split.h"
#include "jeffreys/distributed/communicator.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/train/models.h"
#include "jeffreys/train/trainer.h"
#include "jeffreys/train/wgan_gp.h"

namespace jeffreys::app {

std::vector<std::string> Setup::columns() const {
  std::vector<std::string> c = {"step", "wall_seconds"};
  for (const auto& k : trainer->columns()) c.push_back(k);
  for (const char* k : {"ess", "lr", "lr_proxy", "nll_flow", "nll_proxy", "log_z", "log_z_se", "forward_kl",
                        "reverse_kl", "jeffreys", "mmd"})
    if (std::find(c.begin(), c.end(), k) == c.end()) c.push_back(k);
  return c;
}

train::Schedule schedule_of(const OptimConfig& o, int64_t steps) {
  train::Schedule s;
  s.kind = train::schedule_from_string(o.schedule);
  s.warmup_steps = o.warmup_steps;
  s.total_steps = steps;
  s.min_factor = o.min_lr_factor;
  s.gamma = o.gamma;
  return s;
}

torch::Device rank_device_of(const std::string& text, const std::string& what) {
  const torch::Device configured = [&] {
    try {
      return torch::Device(text);
    } catch (const std::exception&) {
      throw ConfigError(what + ": '" + text + "' is not a device (cpu or cuda[:N])");
    }
  }();
  const auto d = configured.is_cuda() ? distributed::rank_device(configured, distributed::LaunchEnvironment::from_environment(),
                                                                 torch::cuda::device_count())
                                      : configured;
  if (d.is_cuda()) {
    const auto n = torch::cuda::device_count();
    if (n == 0) throw ConfigError(what + ": '" + text + "', but this machine (or this LibTorch build) has no CUDA device");
    if (d.has_index() && d.index() >= static_cast<int>(n))
      throw ConfigError(what + ": '" + text + "', but this machine has " + std::to_string(n) +
                        " CUDA device(s), numbered from 0");
  }
  return d;
}

namespace {
torch::Device device_of(const Config& c) { return rank_device_of(c.device, "key 'device'"); }
}  // namespace

std::unique_ptr<Setup> build(const Config& c) {
  auto s = std::make_unique<Setup>();
  if (c.data.name == "csv") {
    auto x = data::read_csv(c.data.csv);
    if (!c.data.test_csv.empty()) {
      s->train_x = x;
      s->validation = data::read_csv(c.data.test_csv);
      if (s->validation.size(1) != x.size(1))
        throw data::DataError(c.data.test_csv + ": " + std::to_string(s->validation.size(1)) + " columns, but " +
                              c.data.csv + " has " + std::to_string(x.size(1)));
    } else {
      auto sp = data::split(x, c.data.validation_fraction, c.seed);
      s->train_x = sp.train;
      s->validation = sp.validation;
    }
    if (c.data.subset > 0) {
      if (c.data.subset > s->train_x.size(0))
        throw data::DataError(c.data.csv + ": data.subset = " + std::to_string(c.data.subset) + ", but only " +
                              std::to_string(s->train_x.size(0)) + " training rows");
      // Drawn with the run's seed, as a built-in set's fixed training set is: the seeds of a study
      // then vary the data as well as the initialisation.
      s->train_x = data::random_subset(s->train_x, c.data.subset, c.seed);
    }
  } else {
    s->toy = data::make_toy2d(c.data.name);
    s->train_x = data::fixed_training_set(*s->toy, c.data.n_train, c.seed);
  }
  build_models(c, *s);
  return s;
}

std::unique_ptr<Setup> build_on(const Config& c, torch::Tensor train_x, torch::Tensor validation) {
  auto s = std::make_unique<Setup>();
  s->train_x = std::move(train_x);
  s->validation = std::move(validation);
  build_models(c, *s);
  return s;
}

void build_models(const Config& c, Setup& setup) {
  const torch::Device device = device_of(c);
  Setup* s = &setup;
  s->config = c;
  set_num_threads(static_cast<int>(c.threads));
  keep_freed_memory();
  const int64_t d = s->train_x.size(1);
  const auto spec = c.method.is_wgan() ? constrained::MethodName{} : constrained::parse_method_name(c.method.name);
  TORCH_CHECK(d >= 2 || c.flow.family == "maf" || c.flow.family == "maf-spline",
              "data has one column: coupling flows need 2 or more; use flow.family = \"maf\"");
  auto models = train::make_models(flows::FlowOptions(d)
                                       .family(flows::flow_family_from_string(c.flow.family))
                                       .layers(c.flow.layers)
                                       .hidden(c.flow.hidden)
                                       .depth(c.flow.depth)
                                       .activation(nn::activation_from_string(c.flow.activation))
                                       .bins(c.flow.bins)
                                       .bound(c.flow.bound)
                                       .scale_clamp(c.flow.scale_clamp)
                                       .actnorm(c.flow.actnorm)
                                       .lu_linear(c.flow.lu_linear)
                                       .permutation(flows::permutation_from_string(c.flow.permutation))
                                       .seed(c.seed),
                                   energy::MLPEnergyOptions(d)
                                       .hidden(c.energy.hidden)
                                       .depth(c.energy.depth)
                                       .activation(nn::activation_from_string(c.energy.activation)),
                                   c.seed, device, spec.tilted_proxy, spec.tilt_average);
  s->flow = models.flow;
  s->energy = models.proxy_or_energy();
  s->train_x = s->train_x.to(device);
  if (s->validation.defined()) s->validation = s->validation.to(device);
  if (c.method.is_wgan()) {
    train::WganGpOptions w;
    w.batch_size = c.train.batch_size;
    w.critic_steps = c.wgan.critic_steps;
    w.gp_weight = c.wgan.gp_weight;
    w.generator = {c.optim.lr, c.optim.beta1, c.optim.beta2, 1e-8, c.optim.weight_decay};
    w.critic = {c.optim.lr_proxy, c.optim.beta1, c.optim.beta2, 1e-8, c.optim.weight_decay};
    w.schedule = schedule_of(c.optim, c.train.steps);
    w.divergence_threshold = c.train.divergence_threshold;
    w.seed = c.seed;
    auto critic = train::make_critic(d, c.wgan.critic_hidden, c.wgan.critic_depth);
    critic->to(device);
    s->trainer = std::make_unique<train::WganGpTrainer>(s->flow, critic, w);
    return;
  }
  auto f = c.method.formulation();
  s->uses_proxy = f.uses_proxy();
  train::TrainerOptions o;
  o.batch_size = c.train.batch_size;
  o.flow_samples = c.train.flow_samples;
  o.main.adam.lr = c.optim.lr;
  o.proxy.adam.lr = c.optim.lr_proxy;
  for (auto* m : {&o.main, &o.proxy}) {
    m->adam.beta1 = c.optim.beta1;
    m->adam.beta2 = c.optim.beta2;
    m->adam.weight_decay = c.optim.weight_decay;
    m->clip_grad_norm = c.optim.clip_grad_norm;
    m->schedule = schedule_of(c.optim, c.train.steps);
  }
  o.divergence_threshold = c.train.divergence_threshold;
  o.seed = c.seed;
  auto trainer = train::make_trainer(models, f, o);
  if (f.uses_entropy_level()) {
    // Once per run, from the training set: constraints on F and P on the KL scale.
    s->data_entropy = metrics::knn_entropy(s->train_x);
    if (f.entropy_capped)
      s->data_entropy = metrics::cap_by_gaussian_bound(s->data_entropy, metrics::gaussian_entropy_bound(s->train_x));
    trainer->primal_dual().set_data_entropy(s->data_entropy.value);
  }
  s->trainer = std::move(trainer);
}


std::unique_ptr<Setup> open_run(const RunFolder& folder) {
  if (!folder.has_config()) throw std::runtime_error("'" + folder.dir() + "' is not a run folder (no config.toml)");
  auto s = build(folder.read_config());
  if (!folder.has_checkpoint()) throw std::runtime_error("'" + folder.dir() + "' has no checkpoint yet");
  s->trainer->load(folder.checkpoint_file());
  return s;
}

}  // namespace jeffreys::app
