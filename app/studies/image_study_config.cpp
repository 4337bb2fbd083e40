// The image study's file: reading it, with errors that name the file, line and key.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "app/config/config.h"
#include "app/config/toml_file.h"
#include "app/report/table.h"
#include "app/runs/run.h"
#include "app/studies/image_files.h"
#include "app/studies/image_study.h"
#include "app/sweeps/commands.h"
#include "app/sweeps/path_name.h"
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

/// Reads `key` of `t` into `v` when present, checking its type; `ok(v)` states the allowed range.
template <typename T, typename Ok>
void get(const std::string& file, const toml::table& t, const std::string& where, const std::string& key, T& v, Ok&& ok,
         const char* range) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!n->is_string()) toml_fail(file, n, where + key, "must be a string");
    v = *n->value<std::string>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (!n->is_number()) toml_fail(file, n, where + key, "must be a number");
    v = n->is_integer() ? static_cast<double>(*n->value<int64_t>()) : *n->value<double>();
  } else {
    if (!n->is_integer()) toml_fail(file, n, where + key, "must be an integer");
    v = static_cast<T>(*n->value<int64_t>());
  }
  if (!ok(v)) toml_fail(file, n, where + key, range);
}

const toml::table* section(const std::string& file, const toml::table& root, const std::string& name) {
  const toml::node* n = root.get(name);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) toml_fail(file, n, name, "must be a table ([" + name + "])");
  return n->as_table();
}

const auto positive = [](auto v) { return v > 0; };
const auto non_negative = [](auto v) { return v >= 0; };

}  // namespace

ImageStudyConfig load_image_study(const std::string& path) {
  const toml::table root = parse_toml_file(path);
  ImageStudyConfig c;
  c.file = path;
  only_known_keys(path, root, "", {"seed", "threads", "data", "autoencoder", "classifier", "latent", "evaluation"});
  get(path, root, "", "seed", c.seed, non_negative, "must be >= 0");
  get(path, root, "", "threads", c.threads, positive, "must be >= 1");
  if (const auto* t = section(path, root, "data")) {
    only_known_keys(path, *t, "data.", {"source", "path", "range", "test_fraction", "max_train", "max_test"});
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
    if (!fs::is_directory(c.data.path)) toml_fail(path, t->get("path"), "data.path", "no folder '" + c.data.path + "'");
  }
  if (const auto* t = section(path, root, "autoencoder")) {
    only_known_keys(path, *t, "autoencoder.", {"latent_dims", "width", "epochs", "batch_size", "lr"});
    if (t->get("latent_dims")) c.autoencoder.latent_dims = read_toml_list<int64_t>(path, *t, "latent_dims", "autoencoder.");
    if (c.autoencoder.latent_dims.empty()) toml_fail(path, t->get("latent_dims"), "autoencoder.latent_dims", "must not be empty");
    for (auto d : c.autoencoder.latent_dims)
      if (d < 2) toml_fail(path, t->get("latent_dims"), "autoencoder.latent_dims", "every latent size must be >= 2");
    get(path, *t, "autoencoder.", "width", c.autoencoder.width, positive, "must be >= 1");
    get(path, *t, "autoencoder.", "epochs", c.autoencoder.epochs, positive, "must be >= 1");
    get(path, *t, "autoencoder.", "batch_size", c.autoencoder.batch_size, positive, "must be >= 1");
    get(path, *t, "autoencoder.", "lr", c.autoencoder.lr, positive, "must be > 0");
  }
  if (const auto* t = section(path, root, "classifier")) {
    only_known_keys(path, *t, "classifier.", {"epochs", "batch_size", "features", "lr", "dropout"});
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
    toml_fail(path, root.get("classifier"), "classifier", "needs labelled images (data.source = \"fashion-mnist\")");
  if (const auto* t = section(path, root, "latent")) {
    only_known_keys(path, *t, "latent.", {"base", "latent_dims", "n_train", "seeds", "set", "arm"});
    const auto* b = t->get("base");
    if (b == nullptr || !b->is_string()) toml_fail(path, b, "latent.base", "must name the run configuration of the latent models");
    c.latent.base = (fs::path(path).parent_path() / *b->value<std::string>()).lexically_normal().string();
    if (!fs::exists(c.latent.base)) toml_fail(path, b, "latent.base", "file '" + c.latent.base + "' not found");
    c.latent.latent_dims = read_toml_list<int64_t>(path, *t, "latent_dims", "latent.");
    for (auto d : c.latent.latent_dims)
      if (std::find(c.autoencoder.latent_dims.begin(), c.autoencoder.latent_dims.end(), d) == c.autoencoder.latent_dims.end())
        toml_fail(path, t->get("latent_dims"), "latent.latent_dims", std::to_string(d) + " is not in autoencoder.latent_dims");
    if (t->get("n_train")) {
      c.latent.n_train = read_toml_list<int64_t>(path, *t, "n_train", "latent.");
      std::set<int64_t> seen;
      if (c.latent.n_train.empty()) toml_fail(path, t->get("n_train"), "latent.n_train", "must not be empty");
      for (auto n : c.latent.n_train)
        if (n < 0 || n == 1 || !seen.insert(n).second)
          toml_fail(path, t->get("n_train"), "latent.n_train",
                    "sizes must be >= 2 (0: every code) and each given once, not " + std::to_string(n));
    }
    if (t->get("seeds")) c.latent.seeds = read_toml_list<uint64_t>(path, *t, "seeds", "latent.");
    c.latent.set = read_toml_list<std::string>(path, *t, "set", "latent.");
    if (const auto* arms = t->get("arm")) {
      if (!arms->is_array_of_tables()) toml_fail(path, arms, "latent.arm", "must be [[latent.arm]] tables");
      for (const auto& a : *arms->as_array()) {
        const auto& at = *a.as_table();
        only_known_keys(path, at, "latent.arm.", {"name", "set"});
        LatentArm arm;
        get(path, at, "latent.arm.", "name", arm.name,
            [](const std::string& s) { return is_path_name(s) && s.find("__") == std::string::npos; },
            "must be 1-128 letters, digits, '.', '-', '+', '=' or '_' without '__', not '.' or '..' (it names "
            "folders)");
        if (arm.name.empty()) toml_fail(path, &a, "latent.arm.name", "every arm needs a name");
        arm.set = read_toml_list<std::string>(path, at, "set", "latent.arm.");
        c.latent.arms.push_back(arm);
      }
    }
    if (c.latent.arms.empty()) toml_fail(path, t, "latent.arm", "at least one [[latent.arm]] is needed");
    // Resolve each arm once now, so a bad override fails before hours of training.
    for (size_t i = 0; i < c.latent.arms.size(); ++i) {
      auto sets = c.latent.set;
      sets.insert(sets.end(), c.latent.arms[i].set.begin(), c.latent.arms[i].set.end());
      try {
        load_config(c.latent.base, sets);
      } catch (const ConfigError& e) {
        toml_fail(path, t->get("arm")->as_array()->get(i), "latent.arm[" + std::to_string(i) + "] (" + c.latent.arms[i].name + ")",
             e.what());
      }
    }
  }
  if (c.latent.latent_dims.empty()) c.latent.latent_dims = {c.autoencoder.latent_dims.front()};
  if (const auto* t = section(path, root, "evaluation")) {
    only_known_keys(path, *t, "evaluation.", {"samples", "k", "langevin_steps", "langevin_step_size", "grid"});
    get(path, *t, "evaluation.", "samples", c.evaluation.samples, [](int64_t v) { return v >= 10; }, "must be >= 10");
    get(path, *t, "evaluation.", "k", c.evaluation.k, positive, "must be >= 1");
    get(path, *t, "evaluation.", "langevin_steps", c.evaluation.langevin_steps, non_negative, "must be >= 0");
    get(path, *t, "evaluation.", "langevin_step_size", c.evaluation.langevin_step_size, positive, "must be > 0");
    get(path, *t, "evaluation.", "grid", c.evaluation.grid, positive, "must be >= 1");
  }
  return c;
}

}  // namespace jeffreys::app
