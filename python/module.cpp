// jeffreys._jeffreys: the library to Python on the same LibTorch as `import torch` (Debian's
// python3-torch and libtorch-dev are one libtorch1.13), so tensors, parameters and autograd graphs
// cross without a copy. The Python package (python/jeffreys/) adds the keyword-option front ends.
#include <pybind11/stl.h>
#include <torch/extension.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/config/config.h"
#include "app/runs/sbi_run.h"
#include "app/runs/setup.h"
#include "jeffreys/core/threads.h"
#include "jeffreys/data/errors.h"
#include "jeffreys/data/toy2d.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/metrics/c2st.h"
#include "jeffreys/metrics/entropy.h"
#include "jeffreys/nn/activation.h"
#include "jeffreys/sbi/posterior.h"
#include "jeffreys/simulators/observations.h"
#include "jeffreys/simulators/task.h"
#include "jeffreys/train/errors.h"

namespace py = pybind11;
using namespace jeffreys;

namespace {

torch::Tensor or_undefined(const c10::optional<torch::Tensor>& t) { return t.has_value() ? *t : torch::Tensor(); }

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

/// A flow built from keyword options: what jeffreys.Flow wraps.
flows::Flow make_flow(int64_t features, const std::string& family, int64_t layers, int64_t hidden, int64_t depth,
                      int64_t context_features, const std::string& activation, int64_t bins, double bound,
                      double scale_clamp, bool actnorm, bool lu_linear, const std::string& permutation,
                      int64_t embedding_features, int64_t embedding_hidden, uint64_t seed) {
  if (features < 1) throw std::invalid_argument("features must be >= 1, got " + std::to_string(features));
  if (layers < 1 || hidden < 1 || depth < 1)
    throw std::invalid_argument("layers, hidden and depth must be >= 1");
  torch::manual_seed(seed);
  return flows::make_flow(flows::FlowOptions(features)
                              .family(flows::flow_family_from_string(family))
                              .layers(layers)
                              .hidden(hidden)
                              .depth(depth)
                              .context_features(context_features)
                              .activation(nn::activation_from_string(activation))
                              .bins(bins)
                              .bound(bound)
                              .scale_clamp(scale_clamp)
                              .actnorm(actnorm)
                              .lu_linear(lu_linear)
                              .permutation(flows::permutation_from_string(permutation))
                              .embedding_features(embedding_features)
                              .embedding_hidden(embedding_hidden)
                              .seed(seed));
}

std::vector<torch::Tensor> parameters_of(torch::nn::Module& m) { return m.parameters(); }

/// What jeffreys.fit returns: the trained models and every logged step's numbers.
struct FitResult {
  flows::Flow flow{nullptr};
  std::shared_ptr<energy::MLPEnergyImpl> energy;
  std::map<std::string, std::vector<double>> metrics;
};

/// Trains on `x` with the library's trainer as `jeffreys train` would (same configuration keys and
/// checks), in memory. `progress(step, total, row)` gets each logged row.
FitResult fit(const torch::Tensor& x, const c10::optional<torch::Tensor>& validation,
              const std::vector<std::string>& overrides, const py::object& progress) {
  const auto config = app::load_config("", overrides);
  if (x.dim() != 2 || x.size(0) < 2) throw std::invalid_argument("x must be a [N, D] table with N >= 2 rows");
  auto train_x = x.detach().to(torch::kFloat).contiguous();
  auto val = validation.has_value() ? validation->detach().to(torch::kFloat).contiguous() : torch::Tensor();
  if (val.defined() && (val.dim() != 2 || val.size(1) != train_x.size(1)))
    throw std::invalid_argument("validation must be [M, " + std::to_string(train_x.size(1)) + "]");
  std::unique_ptr<app::Setup> s;
  {
    py::gil_scoped_release release;
    s = app::build_on(config, train_x, val);
  }
  // The Python EnergyModel wraps a plain energy network; a tilted proxy (its flow included) has no wrapper yet.
  if (s->energy && !std::dynamic_pointer_cast<energy::MLPEnergyImpl>(s->energy))
    throw std::invalid_argument("a tilted proxy (method suffix -T) is not available from Python yet");
  FitResult out;
  const auto columns = s->trainer->columns();
  const int64_t steps = config.train.steps, every = std::max<int64_t>(1, config.train.log_every);
  for (int64_t step = 1; step <= steps; ++step) {
    std::map<std::string, double> row;
    {
      py::gil_scoped_release release;
      row = s->trainer->step_metrics(s->train_x);
    }
    if (step % every != 0 && step != steps) continue;
    out.metrics["step"].push_back(static_cast<double>(step));
    for (const auto& c : columns) out.metrics[c].push_back(row.count(c) ? row.at(c) : NAN);
    if (s->validation.defined()) {
      py::gil_scoped_release release;
      torch::NoGradGuard g;
      const double nll = -s->flow->log_prob(s->validation).mean().item<double>();
      out.metrics["validation_nll"].push_back(nll);
    }
    if (!progress.is_none()) {
      std::map<std::string, double> last;
      for (const auto& [name, values] : out.metrics) last[name] = values.back();
      progress(step, steps, last);
    }
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
  out.flow = s->flow;
  out.energy = std::dynamic_pointer_cast<energy::MLPEnergyImpl>(s->energy);
  return out;
}

}  // namespace

PYBIND11_MODULE(_jeffreys, m) {
  m.doc() = "jeffreys: normalizing flows trained jointly with an energy model (Jeffreys divergence), on LibTorch";
  py::register_exception<train::TrainingDiverged>(m, "TrainingDiverged", PyExc_RuntimeError);
  py::register_exception<app::ConfigError>(m, "ConfigError", PyExc_ValueError);
  py::register_exception<data::DataError>(m, "DataError", PyExc_ValueError);
  py::register_exception<train::CheckpointError>(m, "CheckpointError", PyExc_ValueError);

  m.def("set_num_threads", &jeffreys::set_num_threads, py::arg("threads"),
        "Threads of LibTorch and of OpenBLAS's own pool (torch.set_num_threads reaches only the first).");
  m.def("openblas_threads", &jeffreys::openblas_num_threads,
        "OpenBLAS's thread count (-1 when OpenBLAS is not the BLAS in use).");

  py::class_<flows::FlowImpl, std::shared_ptr<flows::FlowImpl>>(m, "_Flow")
      .def("log_prob", [](flows::FlowImpl& f, const torch::Tensor& x, const c10::optional<torch::Tensor>& c) {
        return f.log_prob(x, or_undefined(c));
      }, py::arg("x"), py::arg("context") = py::none())
      .def("sample", [](flows::FlowImpl& f, int64_t n, const c10::optional<torch::Tensor>& c) {
        return f.sample(n, or_undefined(c));
      }, py::arg("n"), py::arg("context") = py::none())
      .def("sample_and_log_prob", [](flows::FlowImpl& f, int64_t n, const c10::optional<torch::Tensor>& c) {
        auto r = f.sample_and_log_prob(n, or_undefined(c));
        return py::make_tuple(r.first, r.second);
      }, py::arg("n"), py::arg("context") = py::none())
      .def("sample_and_log_prob_per_context", [](flows::FlowImpl& f, int64_t k, const torch::Tensor& c) {
        auto r = f.sample_and_log_prob_per_context(k, c);
        return py::make_tuple(r.first, r.second);
      }, py::arg("k"), py::arg("context"))
      .def("parameters", [](flows::FlowImpl& f) { return parameters_of(f); })
      .def("train", [](flows::FlowImpl& f, bool mode) { f.train(mode); }, py::arg("mode") = true)
      .def("to", [](flows::FlowImpl& f, const std::string& device) { f.to(torch::Device(device)); })
      .def("save", [](flows::FlowImpl& f, const std::string& path) {
        torch::serialize::OutputArchive a;
        f.save(a);
        a.save_to(path);
      })
      .def("load", [](flows::FlowImpl& f, const std::string& path) {
        torch::serialize::InputArchive a;
        a.load_from(path);
        f.load(a);
      })
      .def_property_readonly("features", &flows::FlowImpl::features)
      .def_property_readonly("context_features", &flows::FlowImpl::context_features);

  m.def("make_flow", [](int64_t features, const std::string& family, int64_t layers, int64_t hidden, int64_t depth,
                        int64_t context_features, const std::string& activation, int64_t bins, double bound,
                        double scale_clamp, bool actnorm, bool lu_linear, const std::string& permutation,
                        int64_t embedding_features, int64_t embedding_hidden, uint64_t seed) {
    return make_flow(features, family, layers, hidden, depth, context_features, activation, bins, bound, scale_clamp,
                     actnorm, lu_linear, permutation, embedding_features, embedding_hidden, seed).ptr();
  });

  py::class_<energy::MLPEnergyImpl, std::shared_ptr<energy::MLPEnergyImpl>>(m, "_Energy")
      .def("energy", [](energy::MLPEnergyImpl& e, const torch::Tensor& x, const c10::optional<torch::Tensor>& c) {
        return e.energy(x, or_undefined(c));
      }, py::arg("x"), py::arg("context") = py::none())
      .def("parameters", [](energy::MLPEnergyImpl& e) { return parameters_of(e); })
      .def("train", [](energy::MLPEnergyImpl& e, bool mode) { e.train(mode); }, py::arg("mode") = true)
      .def("to", [](energy::MLPEnergyImpl& e, const std::string& device) { e.to(torch::Device(device)); });

  m.def("make_energy", [](int64_t features, int64_t hidden, int64_t depth, const std::string& activation,
                          int64_t context_features, uint64_t seed) {
    if (features < 1 || hidden < 1 || depth < 1) throw std::invalid_argument("features, hidden and depth must be >= 1");
    torch::manual_seed(seed);
    return std::make_shared<energy::MLPEnergyImpl>(energy::MLPEnergyOptions(features)
                                                       .hidden(hidden)
                                                       .depth(depth)
                                                       .activation(nn::activation_from_string(activation))
                                                       .context_features(context_features));
  });

  py::class_<FitResult>(m, "_FitResult")
      .def_property_readonly("flow", [](const FitResult& r) { return r.flow.ptr(); })
      .def_readonly("energy", &FitResult::energy)
      .def_readonly("metrics", &FitResult::metrics);
  m.def("fit", &fit, py::arg("x"), py::arg("validation"), py::arg("overrides"), py::arg("progress"));
  m.def("toy_sample", [](const std::string& name, int64_t n, uint64_t seed) {
    return data::make_toy2d(name)->sample(n, generator(seed));
  });
  m.def("toy_log_prob", [](const std::string& name, const torch::Tensor& x) { return data::make_toy2d(name)->log_prob(x); });
  m.def("toy_names", &data::toy2d_names);
  m.def("config_keys", [] { return app::load_config("").to_toml(); }, "Every configuration key with its default, as TOML.");

  // Simulation-based inference: the library's posterior estimator and the sbibm tasks.
  py::class_<sbi::PosteriorEstimator>(m, "_Posterior")
      .def(py::init([](int64_t theta_dim, int64_t x_dim, const std::string& method, int64_t layers, int64_t hidden,
                       int64_t bins, double bound, int64_t batch_size, double lr, double validation_fraction,
                       int64_t patience, int64_t max_epochs, int64_t flow_samples, int64_t embedding_features,
                       uint64_t seed, const std::string& device) {
        sbi::PosteriorOptions o;
        o.device = torch::Device(device);
        o.method = method;
        o.layers = layers;
        o.hidden = hidden;
        o.bins = bins;
        o.bound = bound;
        o.batch_size = batch_size;
        o.lr = o.lr_proxy = lr;
        o.validation_fraction = validation_fraction;
        o.patience = patience;
        o.max_epochs = max_epochs;
        o.flow_samples = flow_samples;
        o.embedding_features = embedding_features;
        o.seed = seed;
        return std::make_unique<sbi::PosteriorEstimator>(theta_dim, x_dim, o);
      }))
      .def("train", [](sbi::PosteriorEstimator& p, const torch::Tensor& theta, const torch::Tensor& x) {
        sbi::TrainingReport r;
        {
          py::gil_scoped_release release;
          r = p.train(theta, x);
        }
        std::map<std::string, std::vector<double>> metrics;
        for (size_t i = 0; i < r.columns.size(); ++i)
          for (const auto& row : r.rows) metrics[r.columns[i]].push_back(i < row.size() ? row[i] : NAN);
        return py::make_tuple(r.epochs, r.best_epoch, r.best_validation_nll, r.seconds, metrics);
      })
      .def("sample", [](sbi::PosteriorEstimator& p, const torch::Tensor& x_o, int64_t n, uint64_t seed) {
        py::gil_scoped_release release;
        return p.sample(x_o, n, generator(seed));
      })
      .def("sample_proxy", [](sbi::PosteriorEstimator& p, const torch::Tensor& x_o, int64_t n, int64_t proposals,
                              int64_t mala_steps, uint64_t seed) {
        py::gil_scoped_release release;
        sbi::ProxySampling sampling;
        sampling.proposals = proposals;
        sampling.mala_steps = mala_steps;
        auto r = p.sample_proxy(x_o, n, sampling, generator(seed));
        return std::make_tuple(r.theta, r.ess, r.acceptance);
      })
      .def("log_prob", &sbi::PosteriorEstimator::log_prob)
      .def_property_readonly("has_proxy", &sbi::PosteriorEstimator::has_proxy);

  py::class_<simulators::Task, std::shared_ptr<simulators::Task>>(m, "_Task")
      .def_property_readonly("name", &simulators::Task::name)
      .def_property_readonly("parameter_dim", &simulators::Task::parameter_dim)
      .def_property_readonly("data_dim", &simulators::Task::data_dim)
      .def("sample_prior", [](const simulators::Task& t, int64_t n, uint64_t seed) {
        py::gil_scoped_release release;
        return t.sample_prior(n, generator(seed));
      })
      .def("prior_log_prob", &simulators::Task::prior_log_prob)
      .def("in_support", &simulators::Task::in_support)
      .def("simulate", [](const simulators::Task& t, const torch::Tensor& theta, uint64_t seed) {
        py::gil_scoped_release release;
        return t.simulate(theta, generator(seed));
      });
  m.def("make_task", [](const std::string& name) { return std::shared_ptr<simulators::Task>(simulators::make_task(name)); });
  m.def("task_names", &simulators::task_names);
  m.def("sbibm_root", &app::sbibm_root);
  m.def("read_observation", [](const std::string& folder) {
    const auto o = simulators::read_observation(folder);
    return py::make_tuple(o.observation, o.true_parameters, o.reference_posterior_samples);
  });
  m.def("c2st", [](const torch::Tensor& x, const torch::Tensor& y, int64_t folds, uint64_t seed) {
    py::gil_scoped_release release;
    return metrics::c2st(x, y, metrics::C2stOptions().folds(folds).seed(seed));
  });
  // The entropy estimates behind -H ("knn"), -Hc ("capped": metrics::cap_by_gaussian_bound) and
  // -Hn ("capped-neural"), and the bounds alone ("gaussian", "neural"), in nats; conditional on `c`
  // when it is given (the neural ones need it).
  m.def("entropy", [](const torch::Tensor& x, std::optional<torch::Tensor> c, const std::string& estimator, int64_t k,
                      uint64_t seed) {
    if (estimator != "knn" && estimator != "gaussian" && estimator != "capped" && estimator != "neural" &&
        estimator != "capped-neural")
      throw py::value_error("entropy: estimator must be 'knn', 'gaussian', 'capped', 'neural' or 'capped-neural', not '" +
                            estimator + "'");
    const bool neural = estimator == "neural" || estimator == "capped-neural";
    if (neural && !c) throw py::value_error("entropy: estimator '" + estimator + "' needs a condition");
    py::gil_scoped_release release;
    metrics::NeuralGaussianBoundOptions o;
    o.seed = seed;
    auto linear = [&] {
      return c ? metrics::gaussian_conditional_entropy_bound(x, *c) : metrics::gaussian_entropy_bound(x);
    };
    auto bound = [&] {
      return neural ? metrics::tighter_bound(linear(), metrics::neural_gaussian_conditional_entropy_bound(x, *c, o))
                    : linear();
    };
    if (estimator == "gaussian") return linear();
    if (estimator == "neural") return metrics::neural_gaussian_conditional_entropy_bound(x, *c, o);
    const auto knn = c ? metrics::conditional_knn_entropy(x, *c, k) : metrics::knn_entropy(x, k);
    return estimator == "knn" ? knn.value : metrics::cap_by_gaussian_bound(knn, bound()).value;
  });
}
