// The image study: autoencoders, the feature classifier, the latent runs as a sweep, then decoding
// and scoring their samples.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>
#include <zlib.h>

#include "app/config/config.h"
#include "app/config/toml_file.h"
#include "app/report/table.h"
#include "app/runs/run.h"
#include "app/runs/run_folder.h"
#include "app/studies/image_files.h"
#include "app/studies/image_study.h"
#include "app/sweeps/commands.h"
#include "app/sweeps/sweep.h"
#include "jeffreys/core/atomic_file.h"
#include "jeffreys/core/threads.h"
#include "jeffreys/data/images.h"
#include "jeffreys/metrics/fid.h"
#include "jeffreys/plot/charts.h"
#include "jeffreys/plot/png.h"
#include "jeffreys/vision/models.h"
#include "jeffreys/vision/training.h"

namespace jeffreys::app {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace image_files;

namespace {


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

template <typename Module>
void save_module(Module& m, const std::string& path) {
  std::ostringstream bytes;
  torch::save(m, bytes);
  write_file_atomically(path, bytes.str());
}

void write_json(const std::string& path, const json& j) { write_file_atomically(path, j.dump(2) + "\n"); }


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

}  // namespace

std::string image_files::classifier_fingerprint(const std::string& out) {
  const auto file = out + "/classifier/model.pt";
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + file + "'");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
  std::ostringstream hex;
  hex << std::hex << std::setw(8) << std::setfill('0') << crc;
  return hex.str();
}

namespace {

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
    std::ostringstream bytes;
    torch::save(first, bytes);
    write_file_atomically(tensor_file, bytes.str());
  }
}


}  // namespace

AutoencoderSummary autoencode_run(const ImageStudyConfig& c, int64_t latent_dim, const std::string& dir,
                                  std::ostream* progress) {
  if (fs::exists(dir) && !fs::is_empty(dir))
    throw std::invalid_argument("autoencode: '" + dir + "' exists and is not empty");
  set_num_threads(static_cast<int>(c.threads));
  const auto t0 = std::chrono::steady_clock::now();
  auto d = load_images(c);
  torch::manual_seed(c.seed);
  const bool symmetric = c.data.range == "symmetric";
  vision::ConvAutoencoder ae(shape_of(d.train.images), latent_dim, c.autoencoder.width, symmetric);
  const auto o = fit_options(c.autoencoder.epochs, c.autoencoder.batch_size, c.autoencoder.lr, c.seed, progress);
  auto records = vision::fit_autoencoder(ae, d.train.images, d.test.images, o);
  // Created once training has succeeded: images the network cannot take leave no folder behind.
  fs::create_directories(dir);
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
  const Sweep sweep("image study", out, o);
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
    say("autoencoder d=" + std::to_string(d) + ": test MSE " + fixed(s.test_mse, 5) + " (" + fixed(s.seconds, 0) + " s)");
  }
  // 2. Latent models, as parallel processes; a run results.csv records (a clone has the tables, not
  //    the run folders) is finished.
  std::vector<SweepRun> plan;
  const auto recorded = recorded_runs(c, out);
  if (!recorded.planned.empty())
    say(std::to_string(recorded.planned.size()) + " runs recorded in " + out + "/results.csv count as finished");
  for (const auto& r : latent_runs(c)) {
    const auto name = r.name();
    if (recorded.planned.count(name) > 0) continue;
    auto sets = c.latent.set;
    sets.insert(sets.end(), r.arm->set.begin(), r.arm->set.end());
    const auto codes = fs::absolute(ae_dir(out, r.d)).string();
    sets.push_back("data.name=\"csv\"");
    sets.push_back("data.csv=\"" + codes + "/latents_train.csv\"");
    sets.push_back("data.test_csv=\"" + codes + "/latents_test.csv\"");
    if (r.n_train > 0) sets.push_back("data.subset=" + std::to_string(r.n_train));
    sets.push_back("seed=" + std::to_string(r.seed));
    const auto cfg = sweep.config_file(name);
    const auto base = c.latent.base;
    plan.push_back({name, train_command(cfg, sweep.run_dir(name)),
                    [cfg, base, sets] { write_file_atomically(cfg, load_config(base, sets).to_toml()); }});
  }
  // The feature classifier (trained once, before the latent runs take both cores).
  data::ImageSplit labelled;
  const bool need_images = c.has_classifier;
  if (need_images) labelled = load_images(c);
  if (c.has_classifier) {
    set_num_threads(static_cast<int>(c.threads));
    classifier_run(c, labelled, out + "/classifier", o.progress);
  }
  SweepRules rules;
  // An interrupted latent run continues from its checkpoint (train_command resumes).
  rules.finished = run_status::finished_run;
  rules.judge = [](const std::string&, int code) -> RunEnd {
    return code == 0 ? RunEnd{RunEnd::completed, "done"} : RunEnd{RunEnd::failed, ""};
  };
  const int64_t failed = sweep.run(plan, rules).failed;
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
    std::string fingerprint;
    // Scores by another classifier (a retrained one, or unrecorded) are redone: the samples are
    // drawn again from the same seed, so only the classifier changes.
    auto scored_here = [&](const std::string& file) {
      return fs::exists(file) && (!c.has_classifier || read_json(file).value("classifier", kUnrecordedClassifier) == fingerprint);
    };
    if (c.has_classifier) {
      fingerprint = classifier_fingerprint(out);
      net = load_classifier(out + "/classifier", shape);
      ref = vision::map_batches(test, 1000, [&](const torch::Tensor& b) { return net->features(b); });
    }
    for (auto d : c.latent.latent_dims) {
      auto ae = load_autoencoder(ae_dir(out, d), shape, symmetric);
      const auto ref_file = ae_dir(out, d) + "/reference_eval.json";
      if (c.has_classifier && !scored_here(ref_file)) {
        auto perm = torch::randperm(images.train.images.size(0), at::detail::createCPUGenerator(c.seed))
                        .narrow(0, 0, std::min(n, images.train.images.size(0)));
        auto train_imgs = images.train.images.index_select(0, perm);
        auto recon = vision::map_batches(test, 1000, [&](const torch::Tensor& b) { return ae.model->forward(b); });
        write_json(ref_file, {{"train-images", score_images(net, train_imgs, ref, c.evaluation.k)},
                              {"reconstructions", score_images(net, recon, ref, c.evaluation.k)},
                              {"classifier", fingerprint}});
      }
      for (const auto& r : latent_runs(c, d)) {
        const auto dir = out + "/runs/" + r.name();
        if (scored_here(dir + "/image_eval.json") || !fs::exists(dir + "/summary.json")) continue;
        if (read_json(dir + "/summary.json").value("status", "") != "completed") continue;
        const auto cfg = load_config(dir + "/config.toml");
        std::vector<std::string> samplers = {"flow"};
        if (cfg.method.trains_energy()) samplers = {"flow", "proxy", "langevin"};
        json e;
        for (const auto& sampler : samplers) {
          const auto t0 = std::chrono::steady_clock::now();
          SampleOptions so;
          so.sampler = sampler;
          so.seed = 1000 + r.seed;
          so.langevin_steps = c.evaluation.langevin_steps;
          so.langevin_step_size = c.evaluation.langevin_step_size;
          auto imgs = ae.decode(draw_samples(dir, n, so));
          json s = json::object();
          if (c.has_classifier) s = score_images(net, imgs, ref, c.evaluation.k);
          s["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          e[sampler] = s;
          save_grid(imgs, c, r.arm->name + " (" + sampler + ")", dir + "/grid_" + sampler + ".png",
                    dir + "/grid_" + sampler + ".pt");
        }
        if (c.has_classifier) e["classifier"] = fingerprint;
        write_json(dir + "/image_eval.json", e);
        say("sampled " + r.name() +
            (c.has_classifier ? ": FID " + fixed(e["flow"]["fid"].get<double>(), 2) : std::string()));
      }
    }
  }
  report_image_study(c, out);
  return failed;
}

}  // namespace jeffreys::app
