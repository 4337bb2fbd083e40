#include "jeffreys/experiment/image_study.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "jeffreys/core/atomic_file.h"
#include "jeffreys/core/process_pool.h"
#include "jeffreys/core/threads.h"
#include "jeffreys/data/images.h"
#include "jeffreys/experiment/config.h"
#include "jeffreys/experiment/run.h"
#include "jeffreys/metrics/fid.h"
#include "jeffreys/plot/charts.h"
#include "jeffreys/plot/png.h"
#include "jeffreys/vision/models.h"
#include "jeffreys/vision/training.h"
#include "study_files.h"

namespace jeffreys::experiment {
namespace fs = std::filesystem;
using detail::fail;
using json = nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// The study file

/// Reads `key` of `t` into `v` when present, checking its type; `ok(v)` states the allowed range.
template <typename T, typename Ok>
void get(const std::string& file, const toml::table& t, const std::string& where, const std::string& key, T& v, Ok&& ok,
         const char* range) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!n->is_string()) fail(file, n, where + key, "must be a string");
    v = *n->value<std::string>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (!n->is_number()) fail(file, n, where + key, "must be a number");
    v = n->is_integer() ? static_cast<double>(*n->value<int64_t>()) : *n->value<double>();
  } else {
    if (!n->is_integer()) fail(file, n, where + key, "must be an integer");
    v = static_cast<T>(*n->value<int64_t>());
  }
  if (!ok(v)) fail(file, n, where + key, range);
}

const toml::table* section(const std::string& file, const toml::table& root, const std::string& name) {
  const toml::node* n = root.get(name);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) fail(file, n, name, "must be a table ([" + name + "])");
  return n->as_table();
}

const auto positive = [](auto v) { return v > 0; };
const auto non_negative = [](auto v) { return v >= 0; };

// ---------------------------------------------------------------------------------------------
// Data, models and their files

data::ImageSplit load_images(const ImageStudyConfig& c) {
  const auto range = c.data.range == "symmetric" ? data::PixelRange::symmetric : data::PixelRange::unit;
  data::ImageSplit s = c.data.source == "png-folder"
                           ? data::split_images(data::read_png_folder(c.data.path, range), c.data.test_fraction, c.seed)
                           : data::read_fashion_mnist(c.data.path, range);
  auto head = [](data::ImageSet& set, int64_t n) {
    if (n <= 0 || n >= set.images.size(0)) return;
    set.images = set.images.narrow(0, 0, n);
    if (set.labels.defined()) set.labels = set.labels.narrow(0, 0, n);
  };
  head(s.train, c.data.max_train);
  head(s.test, c.data.max_test);
  return s;
}

vision::ImageShape shape_of(const torch::Tensor& images) { return {images.size(1), images.size(2), images.size(3)}; }
double pixel_low(const ImageStudyConfig& c) { return c.data.range == "symmetric" ? -1.0 : 0.0; }

template <typename Module>
void save_module(Module& m, const std::string& path) {
  const std::string tmp = path + ".tmp";
  torch::save(m, tmp);
  fs::rename(tmp, path);
}

void write_json(const std::string& path, const json& j) { write_file_atomically(path, j.dump(2) + "\n"); }

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  return json::parse(in);
}

void write_codes(const torch::Tensor& z, const std::string& path) {
  auto a = z.to(torch::kDouble).contiguous();
  std::ostringstream o;
  o << std::setprecision(7);
  for (int64_t j = 0; j < a.size(1); ++j) o << (j ? "," : "") << "z" << j;
  o << "\n";
  const auto* p = a.data_ptr<double>();
  for (int64_t i = 0; i < a.size(0); ++i) {
    for (int64_t j = 0; j < a.size(1); ++j) o << (j ? "," : "") << p[i * a.size(1) + j];
    o << "\n";
  }
  write_file_atomically(path, o.str());
}

/// A trained autoencoder with the z-scoring of its codes.
struct Autoencoder {
  vision::ConvAutoencoder model{nullptr};
  torch::Tensor mean, std;
  torch::Tensor decode(const torch::Tensor& z) {
    return vision::map_batches(z.to(torch::kFloat), 1000,
                               [&](const torch::Tensor& b) { return model->decode(b * std + mean); });
  }
};

Autoencoder load_autoencoder(const std::string& dir, vision::ImageShape shape, bool symmetric) {
  auto s = read_json(dir + "/summary.json");
  Autoencoder a;
  a.model = vision::ConvAutoencoder(shape, s.at("latent_dim").get<int64_t>(), s.at("width").get<int64_t>(), symmetric);
  torch::load(a.model, dir + "/model.pt");
  a.model->eval();
  a.mean = torch::tensor(s.at("code_mean").get<std::vector<double>>()).to(torch::kFloat);
  a.std = torch::tensor(s.at("code_std").get<std::vector<double>>()).to(torch::kFloat);
  return a;
}

vision::FitOptions fit_options(int64_t epochs, int64_t batch_size, double lr, uint64_t seed, std::ostream* progress) {
  vision::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.lr = lr;
  o.seed = seed;
  o.progress = progress;
  return o;
}

void write_epochs(const std::string& path, const std::string& header, const std::vector<vision::EpochRecord>& records) {
  std::ostringstream csv;
  csv << header << "\n";
  for (const auto& r : records) csv << r.epoch << "," << r.train_loss << "," << r.test_metric << "," << r.seconds << "\n";
  write_file_atomically(path, csv.str());
}

std::string ae_dir(const std::string& out, int64_t d) { return out + "/autoencoder_d" + std::to_string(d); }
std::string run_name(const std::string& arm, int64_t d, uint64_t seed) {
  return arm + "__d" + std::to_string(d) + "__s" + std::to_string(seed);
}

/// Trains the feature classifier into `dir` unless its summary.json exists.
void classifier_run(const ImageStudyConfig& c, const data::ImageSplit& d, const std::string& dir, std::ostream* progress) {
  if (fs::exists(dir + "/summary.json")) return;
  if (!d.train.labels.defined())
    throw std::invalid_argument(c.file + ": [classifier] needs labelled images (data.source = \"fashion-mnist\")");
  fs::create_directories(dir);
  const auto t0 = std::chrono::steady_clock::now();
  torch::manual_seed(c.seed);
  const auto classes = d.train.labels.max().item<int64_t>() + 1;
  vision::ConvClassifier net(shape_of(d.train.images), classes, c.classifier.features, c.classifier.dropout);
  const auto o = fit_options(c.classifier.epochs, c.classifier.batch_size, c.classifier.lr, c.seed, progress);
  auto records = vision::fit_classifier(net, d.train.images, d.train.labels, d.test.images, d.test.labels, o);
  write_epochs(dir + "/metrics.csv", "epoch,train_loss,test_accuracy,seconds", records);
  save_module(net, dir + "/model.pt");
  write_json(dir + "/summary.json",
             {{"test_accuracy", records.back().test_metric},
              {"classes", classes},
              {"features", c.classifier.features},
              {"dropout", c.classifier.dropout},
              {"epochs", c.classifier.epochs},
              {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
}

vision::ConvClassifier load_classifier(const std::string& dir, vision::ImageShape shape) {
  auto s = read_json(dir + "/summary.json");
  vision::ConvClassifier net(shape, s.at("classes").get<int64_t>(), s.at("features").get<int64_t>(),
                             s.at("dropout").get<double>());
  torch::load(net, dir + "/model.pt");
  net->eval();
  return net;
}

/// FID, precision and recall of `images` against the reference features.
json score_images(vision::ConvClassifier& net, const torch::Tensor& images, const torch::Tensor& reference_features,
                  int64_t k) {
  auto f = vision::map_batches(images, 1000, [&](const torch::Tensor& b) { return net->features(b); });
  auto pr = metrics::precision_recall(reference_features, f, k);
  return {{"fid", metrics::frechet_distance(f, reference_features)}, {"precision", pr.precision}, {"recall", pr.recall}};
}

/// The first grid × grid images as a PNG and, for the report's side-by-side figure, as a tensor file.
void save_grid(const torch::Tensor& images, const ImageStudyConfig& c, const std::string& title, const std::string& png,
               const std::string& tensor_file = "") {
  const int64_t n = std::min<int64_t>(c.evaluation.grid * c.evaluation.grid, images.size(0));
  auto first = images.narrow(0, 0, n).contiguous();
  plot::save_png(plot::image_grid(first, static_cast<int>(c.evaluation.grid), pixel_low(c), 1.0, 2, title), png);
  if (!tensor_file.empty()) {
    torch::save(first, tensor_file + ".tmp");
    fs::rename(tensor_file + ".tmp", tensor_file);
  }
}

std::string num(double v, int digits = 3) {
  if (std::isnan(v)) return "nan";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

ImageStudyConfig load_image_study(const std::string& path) {
  const toml::table root = detail::parse_file(path);
  ImageStudyConfig c;
  c.file = path;
  detail::only(path, root, "", {"seed", "threads", "data", "autoencoder", "classifier", "latent", "evaluation"});
  get(path, root, "", "seed", c.seed, non_negative, "must be >= 0");
  get(path, root, "", "threads", c.threads, positive, "must be >= 1");
  if (const auto* t = section(path, root, "data")) {
    detail::only(path, *t, "data.", {"source", "path", "range", "test_fraction", "max_train", "max_test"});
    get(path, *t, "data.", "source", c.data.source,
        [](const std::string& s) { return s == "fashion-mnist" || s == "png-folder"; }, "must be fashion-mnist or png-folder");
    get(path, *t, "data.", "path", c.data.path, [](const std::string& s) { return !s.empty(); }, "must name a folder");
    get(path, *t, "data.", "range", c.data.range, [](const std::string& s) { return s == "unit" || s == "symmetric"; },
        "must be unit ([0, 1]) or symmetric ([-1, 1])");
    get(path, *t, "data.", "test_fraction", c.data.test_fraction, [](double v) { return v > 0 && v < 1; },
        "must be in (0, 1)");
    get(path, *t, "data.", "max_train", c.data.max_train, non_negative, "must be >= 0");
    get(path, *t, "data.", "max_test", c.data.max_test, non_negative, "must be >= 0");
    if (fs::path(c.data.path).is_relative()) c.data.path = (fs::path(path).parent_path() / c.data.path).string();
    if (!fs::is_directory(c.data.path)) fail(path, t->get("path"), "data.path", "no folder '" + c.data.path + "'");
  }
  if (const auto* t = section(path, root, "autoencoder")) {
    detail::only(path, *t, "autoencoder.", {"latent_dims", "width", "epochs", "batch_size", "lr"});
    if (t->get("latent_dims")) c.autoencoder.latent_dims = detail::read_list<int64_t>(path, *t, "latent_dims", "autoencoder.");
    if (c.autoencoder.latent_dims.empty()) fail(path, t->get("latent_dims"), "autoencoder.latent_dims", "must not be empty");
    for (auto d : c.autoencoder.latent_dims)
      if (d < 2) fail(path, t->get("latent_dims"), "autoencoder.latent_dims", "every latent size must be >= 2");
    get(path, *t, "autoencoder.", "width", c.autoencoder.width, positive, "must be >= 1");
    get(path, *t, "autoencoder.", "epochs", c.autoencoder.epochs, positive, "must be >= 1");
    get(path, *t, "autoencoder.", "batch_size", c.autoencoder.batch_size, positive, "must be >= 1");
    get(path, *t, "autoencoder.", "lr", c.autoencoder.lr, positive, "must be > 0");
  }
  if (const auto* t = section(path, root, "classifier")) {
    detail::only(path, *t, "classifier.", {"epochs", "batch_size", "features", "lr", "dropout"});
    get(path, *t, "classifier.", "epochs", c.classifier.epochs, positive, "must be >= 1");
    get(path, *t, "classifier.", "batch_size", c.classifier.batch_size, positive, "must be >= 1");
    get(path, *t, "classifier.", "features", c.classifier.features, positive, "must be >= 1");
    get(path, *t, "classifier.", "lr", c.classifier.lr, positive, "must be > 0");
    get(path, *t, "classifier.", "dropout", c.classifier.dropout, [](double v) { return v >= 0 && v < 1; },
        "must be in [0, 1)");
  } else {
    c.has_classifier = c.data.source == "fashion-mnist";
  }
  if (c.has_classifier && c.data.source != "fashion-mnist")
    fail(path, root.get("classifier"), "classifier", "needs labelled images (data.source = \"fashion-mnist\")");
  if (const auto* t = section(path, root, "latent")) {
    detail::only(path, *t, "latent.", {"base", "latent_dims", "seeds", "set", "arm"});
    const auto* b = t->get("base");
    if (b == nullptr || !b->is_string()) fail(path, b, "latent.base", "must name the run configuration of the latent models");
    c.latent.base = (fs::path(path).parent_path() / *b->value<std::string>()).lexically_normal().string();
    if (!fs::exists(c.latent.base)) fail(path, b, "latent.base", "file '" + c.latent.base + "' not found");
    c.latent.latent_dims = detail::read_list<int64_t>(path, *t, "latent_dims", "latent.");
    for (auto d : c.latent.latent_dims)
      if (std::find(c.autoencoder.latent_dims.begin(), c.autoencoder.latent_dims.end(), d) == c.autoencoder.latent_dims.end())
        fail(path, t->get("latent_dims"), "latent.latent_dims", std::to_string(d) + " is not in autoencoder.latent_dims");
    if (t->get("seeds")) c.latent.seeds = detail::read_list<uint64_t>(path, *t, "seeds", "latent.");
    c.latent.set = detail::read_list<std::string>(path, *t, "set", "latent.");
    if (const auto* arms = t->get("arm")) {
      if (!arms->is_array_of_tables()) fail(path, arms, "latent.arm", "must be [[latent.arm]] tables");
      for (const auto& a : *arms->as_array()) {
        const auto& at = *a.as_table();
        detail::only(path, at, "latent.arm.", {"name", "set"});
        LatentArm arm;
        get(path, at, "latent.arm.", "name", arm.name, [](const std::string& s) { return !s.empty(); }, "must be given");
        arm.set = detail::read_list<std::string>(path, at, "set", "latent.arm.");
        c.latent.arms.push_back(arm);
      }
    }
    if (c.latent.arms.empty()) fail(path, t, "latent.arm", "at least one [[latent.arm]] is needed");
    // Resolve each arm once now, so a bad override fails before hours of training.
    for (size_t i = 0; i < c.latent.arms.size(); ++i) {
      auto sets = c.latent.set;
      sets.insert(sets.end(), c.latent.arms[i].set.begin(), c.latent.arms[i].set.end());
      try {
        load_config(c.latent.base, sets);
      } catch (const ConfigError& e) {
        fail(path, t->get("arm")->as_array()->get(i), "latent.arm[" + std::to_string(i) + "] (" + c.latent.arms[i].name + ")",
             e.what());
      }
    }
  }
  if (c.latent.latent_dims.empty()) c.latent.latent_dims = {c.autoencoder.latent_dims.front()};
  if (const auto* t = section(path, root, "evaluation")) {
    detail::only(path, *t, "evaluation.", {"samples", "k", "langevin_steps", "langevin_step_size", "grid"});
    get(path, *t, "evaluation.", "samples", c.evaluation.samples, [](int64_t v) { return v >= 10; }, "must be >= 10");
    get(path, *t, "evaluation.", "k", c.evaluation.k, positive, "must be >= 1");
    get(path, *t, "evaluation.", "langevin_steps", c.evaluation.langevin_steps, non_negative, "must be >= 0");
    get(path, *t, "evaluation.", "langevin_step_size", c.evaluation.langevin_step_size, positive, "must be > 0");
    get(path, *t, "evaluation.", "grid", c.evaluation.grid, positive, "must be >= 1");
  }
  return c;
}

AutoencoderSummary autoencode_run(const ImageStudyConfig& c, int64_t latent_dim, const std::string& dir,
                                  std::ostream* progress) {
  if (fs::exists(dir) && !fs::is_empty(dir))
    throw std::invalid_argument("autoencode: '" + dir + "' exists and is not empty");
  set_num_threads(static_cast<int>(c.threads));
  const auto t0 = std::chrono::steady_clock::now();
  auto d = load_images(c);
  fs::create_directories(dir);
  torch::manual_seed(c.seed);
  const bool symmetric = c.data.range == "symmetric";
  vision::ConvAutoencoder ae(shape_of(d.train.images), latent_dim, c.autoencoder.width, symmetric);
  const auto o = fit_options(c.autoencoder.epochs, c.autoencoder.batch_size, c.autoencoder.lr, c.seed, progress);
  auto records = vision::fit_autoencoder(ae, d.train.images, d.test.images, o);
  write_epochs(dir + "/metrics.csv", "epoch,train_mse,test_mse,seconds", records);
  save_module(ae, dir + "/model.pt");

  auto encode = [&](const torch::Tensor& x) {
    return vision::map_batches(x, 1000, [&](const torch::Tensor& b) { return ae->encode(b); });
  };
  auto z_train = encode(d.train.images), z_test = encode(d.test.images);
  auto mean = z_train.mean(0), std = z_train.std(0).clamp_min(1e-6);
  write_codes((z_train - mean) / std, dir + "/latents_train.csv");
  write_codes((z_test - mean) / std, dir + "/latents_test.csv");
  {
    torch::NoGradGuard g;
    const int64_t n = std::min<int64_t>(16, d.test.images.size(0));
    auto x = d.test.images.narrow(0, 0, n);
    save_grid(torch::cat({x, ae->forward(x)}), c, "test images (top) and reconstructions (bottom)",
              dir + "/reconstructions.png");
  }
  AutoencoderSummary s;
  s.latent_dim = latent_dim;
  s.test_mse = records.back().test_metric;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto as_vector = [](const torch::Tensor& t) {
    auto v = t.to(torch::kDouble).contiguous();
    return std::vector<double>(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  };
  write_json(dir + "/summary.json", {{"latent_dim", latent_dim},
                                     {"width", c.autoencoder.width},
                                     {"epochs", c.autoencoder.epochs},
                                     {"test_mse", s.test_mse},
                                     {"train_images", d.train.images.size(0)},
                                     {"test_images", d.test.images.size(0)},
                                     {"code_mean", as_vector(mean)},
                                     {"code_std", as_vector(std)},
                                     {"seconds", s.seconds}});
  return s;
}

int64_t run_image_study(const ImageStudyConfig& c, const std::string& out, const ImageStudyOptions& o) {
  if (c.latent.arms.empty()) throw std::invalid_argument(c.file + ": no [latent] section with arms to run");
  if (o.executable.empty() || !fs::exists(o.executable))
    throw std::invalid_argument("image study: the jeffreys executable '" + o.executable + "' does not exist");
  for (const char* sub : {"runs", "configs", "logs"}) fs::create_directories(out + "/" + sub);
  auto say = [&](const std::string& line) {
    if (o.progress) *o.progress << line << "\n" << std::flush;
  };
  // 1. Autoencoders (an interrupted one starts again: its summary.json is written last).
  for (auto d : c.autoencoder.latent_dims) {
    const auto dir = ae_dir(out, d);
    if (fs::exists(dir + "/summary.json")) continue;
    fs::remove_all(dir);
    say("autoencoder d=" + std::to_string(d));
    auto s = autoencode_run(c, d, dir, o.progress);
    say("autoencoder d=" + std::to_string(d) + ": test MSE " + num(s.test_mse, 5) + " (" + num(s.seconds, 0) + " s)");
  }
  // 2. Latent models, as parallel processes.
  std::vector<ProcessJob> jobs;
  std::vector<std::string> names;
  for (uint64_t seed : c.latent.seeds)
    for (auto d : c.latent.latent_dims)
      for (const auto& arm : c.latent.arms) {
        const auto name = run_name(arm.name, d, seed);
        const auto dir = out + "/runs/" + name;
        if (fs::exists(dir + "/summary.json")) continue;
        fs::remove_all(dir);
        auto sets = c.latent.set;
        sets.insert(sets.end(), arm.set.begin(), arm.set.end());
        const auto codes = fs::absolute(ae_dir(out, d)).string();
        sets.push_back("data.name=\"csv\"");
        sets.push_back("data.csv=\"" + codes + "/latents_train.csv\"");
        sets.push_back("data.test_csv=\"" + codes + "/latents_test.csv\"");
        sets.push_back("seed=" + std::to_string(seed));
        const auto cfg = out + "/configs/" + name + ".toml";
        write_file_atomically(cfg, load_config(c.latent.base, sets).to_toml());
        jobs.push_back({{o.executable, "train", "--config", cfg, "--out", dir}, out + "/logs/" + name + ".log"});
        names.push_back(name);
      }
  // The feature classifier (trained once, before the latent runs take both cores).
  data::ImageSplit labelled;
  const bool need_images = c.has_classifier;
  if (need_images) labelled = load_images(c);
  int64_t failed = 0;
  say("latent models: " + std::to_string(jobs.size()) + " runs to train, " + std::to_string(o.jobs) + " at a time");
  if (c.has_classifier) {
    set_num_threads(static_cast<int>(c.threads));
    classifier_run(c, labelled, out + "/classifier", o.progress);
  }
  size_t done = 0;
  run_processes(jobs, o.jobs, [&](size_t i, int code, double secs) {
    ++done;
    const bool ok = code == 0;
    if (!ok) ++failed;
    say("[" + std::to_string(done) + "/" + std::to_string(jobs.size()) + "] " + names[i] + ": " +
        (ok ? "done" : "FAILED (exit " + std::to_string(code) + "), see logs/" + names[i] + ".log") + " (" +
        num(secs, 0) + " s)");
  });
  // 3. Decode every finished run's samples into grids and, with the feature classifier, score them
  //    (and the references: training images, reconstructions). Without labels (a PNG folder) the
  //    grids and the latent NLL are what there is.
  {
    const auto images = need_images ? std::move(labelled) : load_images(c);
    const auto shape = shape_of(images.train.images);
    const bool symmetric = c.data.range == "symmetric";
    const int64_t n = std::min<int64_t>(c.evaluation.samples, images.test.images.size(0));
    auto test = images.test.images.narrow(0, 0, n);
    vision::ConvClassifier net{nullptr};
    torch::Tensor ref;
    if (c.has_classifier) {
      net = load_classifier(out + "/classifier", shape);
      ref = vision::map_batches(test, 1000, [&](const torch::Tensor& b) { return net->features(b); });
    }
    for (auto d : c.latent.latent_dims) {
      auto ae = load_autoencoder(ae_dir(out, d), shape, symmetric);
      const auto ref_file = ae_dir(out, d) + "/reference_eval.json";
      if (c.has_classifier && !fs::exists(ref_file)) {
        auto perm = torch::randperm(images.train.images.size(0), at::detail::createCPUGenerator(c.seed))
                        .narrow(0, 0, std::min(n, images.train.images.size(0)));
        auto train_imgs = images.train.images.index_select(0, perm);
        auto recon = vision::map_batches(test, 1000, [&](const torch::Tensor& b) { return ae.model->forward(b); });
        write_json(ref_file, {{"train-images", score_images(net, train_imgs, ref, c.evaluation.k)},
                              {"reconstructions", score_images(net, recon, ref, c.evaluation.k)}});
      }
      for (uint64_t seed : c.latent.seeds)
        for (const auto& arm : c.latent.arms) {
          const auto dir = out + "/runs/" + run_name(arm.name, d, seed);
          if (fs::exists(dir + "/image_eval.json") || !fs::exists(dir + "/summary.json")) continue;
          if (read_json(dir + "/summary.json").value("status", "") != "completed") continue;
          const auto cfg = load_config(dir + "/config.toml");
          std::vector<std::string> samplers = {"flow"};
          if (!cfg.method.is_wgan()) {
            auto f = cfg.method.formulation();
            if (f.uses("P") || f.uses("R")) samplers = {"flow", "proxy", "langevin"};
          }
          json e;
          for (const auto& sampler : samplers) {
            const auto t0 = std::chrono::steady_clock::now();
            SampleOptions so;
            so.sampler = sampler;
            so.seed = 1000 + seed;
            so.langevin_steps = c.evaluation.langevin_steps;
            so.langevin_step_size = c.evaluation.langevin_step_size;
            auto imgs = ae.decode(draw_samples(dir, n, so));
            json s = json::object();
            if (c.has_classifier) s = score_images(net, imgs, ref, c.evaluation.k);
            s["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            e[sampler] = s;
            save_grid(imgs, c, arm.name + " (" + sampler + ")", dir + "/grid_" + sampler + ".png",
                      dir + "/grid_" + sampler + ".pt");
          }
          write_json(dir + "/image_eval.json", e);
          say("sampled " + run_name(arm.name, d, seed) +
              (c.has_classifier ? ": FID " + num(e["flow"]["fid"].get<double>(), 2) : std::string()));
        }
    }
  }
  report_image_study(c, out);
  return failed;
}

std::vector<std::string> report_image_study(const ImageStudyConfig& c, const std::string& out) {
  struct Row {
    std::string method, sampler;
    uint64_t seed = 0;
    int64_t latent_dim = 0;
    double fid = kNaN, precision = kNaN, recall = kNaN, nll = kNaN, nll_proxy = kNaN, seconds = kNaN;
  };
  std::vector<Row> rows;
  std::map<int64_t, json> refs;
  for (auto d : c.latent.latent_dims) {
    const auto rf = ae_dir(out, d) + "/reference_eval.json";
    if (fs::exists(rf)) refs[d] = read_json(rf);
    for (uint64_t seed : c.latent.seeds)
      for (const auto& arm : c.latent.arms) {
        const auto dir = out + "/runs/" + run_name(arm.name, d, seed);
        if (!fs::exists(dir + "/summary.json")) continue;
        auto sum = read_json(dir + "/summary.json");
        Row base;
        base.method = arm.name;
        base.seed = seed;
        base.latent_dim = d;
        const auto& fin = sum.value("final", json::object());
        base.nll = fin.value("nll_flow", kNaN);
        base.nll_proxy = fin.value("nll_proxy", kNaN);
        base.seconds = sum.value("wall_seconds", kNaN);
        if (sum.value("status", "") != "completed") {
          base.sampler = "diverged";
          rows.push_back(base);
          continue;
        }
        if (!fs::exists(dir + "/image_eval.json")) {
          base.sampler = "flow";
          rows.push_back(base);
          continue;
        }
        const auto eval = read_json(dir + "/image_eval.json");
        for (const auto& [sampler, v] : eval.items()) {
          Row r = base;
          r.sampler = sampler;
          r.fid = v.value("fid", kNaN);
          r.precision = v.value("precision", kNaN);
          r.recall = v.value("recall", kNaN);
          rows.push_back(r);
        }
      }
  }
  // Samplers in a fixed order in the tables: flow, proxy, langevin.
  auto order = [](const std::string& s) { return s == "flow" ? 0 : s == "proxy" ? 1 : s == "langevin" ? 2 : 3; };
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return order(a.sampler) < order(b.sampler); });
  std::ostringstream csv;
  csv << "method,seed,latent_dim,sampler,fid,precision,recall,latent_test_nll,latent_test_nll_proxy,train_seconds\n";
  for (const auto& r : rows)
    csv << r.method << "," << r.seed << "," << r.latent_dim << "," << r.sampler << "," << num(r.fid, 4) << ","
        << num(r.precision, 4) << "," << num(r.recall, 4) << "," << num(r.nll, 4) << "," << num(r.nll_proxy, 4) << ","
        << num(r.seconds, 1) << "\n";
  fs::create_directories(out);
  write_file_atomically(out + "/results.csv", csv.str());

  std::ostringstream md;
  md << "# Latent image generation: " << c.data.source << "\n\n"
     << "FID, precision and recall (k = " << c.evaluation.k << ") in the classifier's feature space, "
     << c.evaluation.samples << " decoded samples against as many test images; latent test NLL in nats per code "
     << "(z-scored codes of the test images). Mean ± std over seeds (number of seeds). Lower FID and NLL are better.\n\n";
  if (fs::exists(out + "/classifier/summary.json"))
    md << "Feature classifier test accuracy: " << num(read_json(out + "/classifier/summary.json").at("test_accuracy").get<double>(), 4)
       << "\n\n";
  for (auto d : c.latent.latent_dims) {
    if (fs::exists(ae_dir(out, d) + "/summary.json"))
      md << "## Latent size " << d << " (autoencoder test MSE per pixel "
         << num(read_json(ae_dir(out, d) + "/summary.json").at("test_mse").get<double>(), 5) << ")\n\n";
    md << "| method | sampler | FID | precision | recall | latent test NLL | proxy NLL | train s |\n|---|---|---|---|---|---|---|---|\n";
    if (refs.count(d))
      for (const char* k : {"train-images", "reconstructions"})
        md << "| " << k << " (reference) | - | " << num(refs[d][k]["fid"].get<double>(), 2) << " | "
           << num(refs[d][k]["precision"].get<double>()) << " | " << num(refs[d][k]["recall"].get<double>()) << " | | | |\n";
    for (const auto& arm : c.latent.arms)
      for (const char* sampler : {"flow", "proxy", "langevin", "diverged"}) {
        std::vector<double> fid, p, r, nll, nllp, sec;
        for (const auto& row : rows)
          if (row.method == arm.name && row.latent_dim == d && row.sampler == sampler) {
            fid.push_back(row.fid), p.push_back(row.precision), r.push_back(row.recall);
            nll.push_back(row.nll), nllp.push_back(row.nll_proxy), sec.push_back(row.seconds);
          }
        if (fid.empty()) continue;
        auto cell = [](const std::vector<double>& v, int digits) {
          auto m = detail::mean_std(v);
          if (m.n == 0) return std::string("-");
          return num(m.mean, digits) + " ± " + num(m.std, digits) + " (" + std::to_string(m.n) + ")";
        };
        md << "| " << arm.name << " | " << sampler << " | " << cell(fid, 2) << " | " << cell(p, 3) << " | " << cell(r, 3)
           << " | " << cell(nll, 2) << " | " << cell(nllp, 2) << " | " << cell(sec, 0) << " |\n";
      }
    md << "\n";
  }
  write_file_atomically(out + "/results.md", md.str());
  std::vector<std::string> files = {"results.csv", "results.md"};

  // Seed 0's grids: the flow's samples of every method side by side (samples_d<k>.png), and per
  // method with an energy model its three samplers in a row (samplers_d<k>.png).
  for (auto d : c.latent.latent_dims) {
    std::vector<plot::Image> flows, samplers;
    int sampler_columns = 1;
    const auto seed0 = c.latent.seeds.front();
    for (const auto& arm : c.latent.arms) {
      std::vector<plot::Image> row;
      for (const char* sampler : {"flow", "proxy", "langevin"}) {
        const auto f = out + "/runs/" + run_name(arm.name, d, seed0) + "/grid_" + sampler + ".pt";
        if (!fs::exists(f)) continue;
        torch::Tensor imgs;
        torch::load(imgs, f);
        row.push_back(plot::image_grid(imgs, static_cast<int>(c.evaluation.grid), pixel_low(c), 1.0, 2,
                                       arm.name + " (" + sampler + ")"));
        const auto grid = "grids/" + arm.name + "_d" + std::to_string(d) + "_" + sampler + ".png";
        fs::create_directories(out + "/grids");
        plot::save_png(row.back(), out + "/" + grid);
        files.push_back(grid);
      }
      if (row.empty()) continue;
      flows.push_back(row.front());
      if (row.size() > 1) {
        sampler_columns = std::max(sampler_columns, static_cast<int>(row.size()));
        samplers.insert(samplers.end(), row.begin(), row.end());
      }
    }
    const auto suffix = "_d" + std::to_string(d) + ".png";
    if (!flows.empty()) {
      plot::save_png(plot::tile(flows, std::min<int>(static_cast<int>(flows.size()), 6)), out + "/samples" + suffix);
      files.push_back("samples" + suffix);
    }
    if (!samplers.empty()) {
      plot::save_png(plot::tile(samplers, sampler_columns), out + "/samplers" + suffix);
      files.push_back("samplers" + suffix);
    }
  }
  return files;
}

}  // namespace jeffreys::experiment
