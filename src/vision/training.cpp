#include "jeffreys/vision/training.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <iomanip>

#include "jeffreys/train/errors.h"

namespace jeffreys::vision {
namespace {

using Clock = std::chrono::steady_clock;

/// One epoch of Adam over a fresh permutation; `loss_of(batch_indices)` returns the batch's mean loss.
template <typename LossFn>
double epoch(torch::optim::Adam& opt, int64_t n, int64_t batch, int64_t epoch_index, at::Generator& gen,
             LossFn&& loss_of) {
  auto perm = torch::randperm(n, gen, torch::kLong);
  double total = 0;
  for (int64_t i = 0; i < n; i += batch) {
    auto idx = perm.narrow(0, i, std::min(batch, n - i));
    opt.zero_grad();
    auto loss = loss_of(idx);
    const double v = loss.template item<double>();
    if (!std::isfinite(v)) throw train::TrainingDiverged(epoch_index, "loss", v, "image network training loss is not finite");
    loss.backward();
    opt.step();
    total += v * static_cast<double>(idx.size(0));
  }
  return total / static_cast<double>(n);
}

void report(std::ostream* out, const char* what, const EpochRecord& r, const char* metric) {
  if (out == nullptr) return;
  *out << what << " epoch " << r.epoch << ": train loss " << std::setprecision(5) << r.train_loss << ", test " << metric
       << " " << r.test_metric << " (" << std::fixed << std::setprecision(1) << r.seconds << " s)\n"
       << std::defaultfloat << std::flush;
}

/// Adam over shuffled mini-batches for `o.epochs` epochs, scored by `metric_of()` after each.
template <typename Model, typename LossFn, typename MetricFn>
std::vector<EpochRecord> fit(Model& model, int64_t n, const FitOptions& o, const char* what, const char* metric,
                             LossFn&& loss_of, MetricFn&& metric_of) {
  torch::manual_seed(o.seed);  // dropout draws from the global generator
  auto gen = at::detail::createCPUGenerator(o.seed);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(o.lr));
  std::vector<EpochRecord> out;
  for (int64_t e = 1; e <= o.epochs; ++e) {
    const auto t0 = Clock::now();
    model->train();
    EpochRecord r;
    r.epoch = e;
    r.train_loss = epoch(opt, n, o.batch_size, e, gen, loss_of);
    r.test_metric = metric_of();
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    report(o.progress, what, r, metric);
    out.push_back(r);
  }
  model->eval();
  return out;
}

}  // namespace

double reconstruction_mse(ConvAutoencoder& model, const torch::Tensor& images) {
  const bool was_training = model->is_training();
  model->eval();
  double total = 0;
  {
    torch::NoGradGuard g;
    for (int64_t i = 0; i < images.size(0); i += 1000) {
      auto x = images.narrow(0, i, std::min<int64_t>(1000, images.size(0) - i));
      total += torch::mse_loss(model->forward(x), x, torch::Reduction::Sum).item<double>();
    }
  }
  model->train(was_training);
  return total / static_cast<double>(images.numel());
}

std::vector<EpochRecord> fit_autoencoder(ConvAutoencoder& model, const torch::Tensor& train, const torch::Tensor& test,
                                         const FitOptions& o) {
  return fit(
      model, train.size(0), o, "autoencoder", "MSE",
      [&](const torch::Tensor& idx) {
        auto x = train.index_select(0, idx);
        return torch::mse_loss(model->forward(x), x);
      },
      [&] { return reconstruction_mse(model, test); });
}

double classification_accuracy(ConvClassifier& model, const torch::Tensor& images, const torch::Tensor& labels) {
  TORCH_CHECK(labels.defined() && labels.size(0) == images.size(0), "classification_accuracy: one label per image needed");
  const bool was_training = model->is_training();
  model->eval();
  auto pred = map_batches(images, 1000, [&](const torch::Tensor& x) { return model->forward(x).argmax(1); });
  model->train(was_training);
  return pred.eq(labels).to(torch::kDouble).mean().item<double>();
}

std::vector<EpochRecord> fit_classifier(ConvClassifier& model, const torch::Tensor& train, const torch::Tensor& train_labels,
                                        const torch::Tensor& test, const torch::Tensor& test_labels, const FitOptions& o) {
  TORCH_CHECK(train_labels.defined() && train_labels.size(0) == train.size(0),
              "fit_classifier: the training images need one label each");
  return fit(
      model, train.size(0), o, "classifier", "accuracy",
      [&](const torch::Tensor& idx) {
        return torch::cross_entropy_loss(model->forward(train.index_select(0, idx)), train_labels.index_select(0, idx));
      },
      [&] { return classification_accuracy(model, test, test_labels); });
}

}  // namespace jeffreys::vision
