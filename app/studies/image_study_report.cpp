// The image study's report: results.csv, results.md and the sample grids, from the runs present and
// the runs results.csv records (a clone has the tables, not the run folders).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
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
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The numbers of the study's shared models that the tables print: the classifier's test accuracy
/// and, per latent size, the autoencoder's test MSE, its training-image count and the reference
/// scores (training images, reconstructions). From their folders where present, else from
/// references.json, which the report writes beside results.csv so that a clone, which has the
/// tables and not the models, prints them too.
json shared_numbers(const ImageStudyConfig& c, const std::string& out) {
  json kept = json::object();
  if (fs::exists(out + "/references.json")) kept = read_json(out + "/references.json");
  json j = json::object();
  if (fs::exists(out + "/classifier/summary.json")) {
    j["classifier_test_accuracy"] = read_json(out + "/classifier/summary.json").at("test_accuracy");
    j["classifier_fingerprint"] = classifier_fingerprint(out);
  } else {
    for (const char* k : {"classifier_test_accuracy", "classifier_fingerprint"})
      if (kept.contains(k)) j[k] = kept[k];
  }
  for (auto d : c.latent.latent_dims) {
    const auto key = "d" + std::to_string(d);
    json a = kept.contains("autoencoders") && kept["autoencoders"].contains(key) ? kept["autoencoders"][key]
                                                                                 : json::object();
    if (fs::exists(ae_dir(out, d) + "/summary.json")) {
      const auto s = read_json(ae_dir(out, d) + "/summary.json");
      a["test_mse"] = s.at("test_mse");
      a["train_images"] = s.value("train_images", int64_t{0});
    }
    if (fs::exists(ae_dir(out, d) + "/reference_eval.json")) a["reference"] = read_json(ae_dir(out, d) + "/reference_eval.json");
    if (!a.empty()) j["autoencoders"][key] = a;
  }
  return j;
}

/// The shared numbers of latent size d (an empty object when unknown).
json autoencoder_numbers(const json& shared, int64_t d) {
  const auto key = "d" + std::to_string(d);
  return shared.contains("autoencoders") && shared["autoencoders"].contains(key) ? shared["autoencoders"][key]
                                                                                 : json::object();
}

/// `v` as results.csv stores it (`digits` decimals). The tables are computed from these values, so a
/// report from the run folders and one from results.csv alone (a clone) print the same digits.
constexpr int kValueDigits = 4, kSecondsDigits = 1;  // results.csv's decimals
double stored(double v, int digits) { return std::isnan(v) ? v : std::stod(fixed(v, digits)); }

/// The classifier a recorded row names: its `classifier` column, or, in a results.csv written before
/// that column existed, "unrecorded" for a row with scores.
std::string recorded_classifier(const CsvTable& t, size_t i) {
  if (const auto col = t.find_column("classifier")) return t.rows[i][*col];
  const auto fid = t.rows[i][t.column("fid")];
  return fid.empty() || fid == "nan" ? std::string() : kUnrecordedClassifier;
}

/// The number of codes a latent run trained on: the subset's size, or every training image's code.
int64_t training_codes(const json& shared, int64_t d, int64_t n_train) {
  if (n_train > 0) return n_train;
  return autoencoder_numbers(shared, d).value("train_images", int64_t{0});
}
}  // namespace

RecordedRuns image_files::recorded_runs(const ImageStudyConfig& c, const std::string& out) {
  RecordedRuns r;
  r.table = read_csv_table(out + "/results.csv");
  std::set<int64_t> subsets;
  for (auto n : c.latent.n_train)
    if (n > 0) subsets.insert(n);
  const auto plan = latent_runs(c);
  for (size_t i = 0; i < r.table.rows.size(); ++i) {
    const auto& f = r.table.rows[i];
    if (f.size() < 5) continue;
    const auto n = f[3].empty() ? int64_t{-1} : std::atoll(f[3].c_str());
    const LatentRun* match = nullptr;
    for (const auto& run : plan) {
      // A run on every code records the code count; one on a subset records the subset's size.
      const bool same_size = run.n_train > 0 ? n == run.n_train : subsets.count(n) == 0;
      if (run.arm->name == f[0] && std::to_string(run.seed) == f[1] && std::to_string(run.d) == f[2] && same_size) {
        match = &run;
        break;
      }
    }
    if (match == nullptr)
      r.unplanned.push_back(i);
    else if (!fs::exists(out + "/runs/" + match->name() + "/summary.json"))
      r.planned[match->name()].push_back(i);
  }
  return r;
}

std::vector<std::string> report_image_study(const ImageStudyConfig& c, const std::string& out) {
  struct Row {
    std::string method, sampler;
    uint64_t seed = 0;
    int64_t latent_dim = 0, n_train = 0;
    double fid = kNaN, precision = kNaN, recall = kNaN, nll = kNaN, nll_proxy = kNaN, seconds = kNaN;
    std::string classifier;  ///< classifier_fingerprint of the scores; empty without scores
  };
  std::vector<Row> rows;
  const auto recorded = recorded_runs(c, out);
  const auto shared = shared_numbers(c, out);
  for (auto d : c.latent.latent_dims) {
    for (const auto& run : latent_runs(c, d)) {
      const auto dir = out + "/runs/" + run.name();
      if (!fs::exists(dir + "/summary.json")) {
        const auto kept = recorded.planned.find(run.name());
        if (kept == recorded.planned.end()) continue;
        const auto& t = recorded.table;
        for (auto i : kept->second) {
          Row r;
          r.method = run.arm->name;
          r.seed = run.seed;
          r.latent_dim = d;
          r.n_train = std::atoll(t.rows[i][t.column("n_train")].c_str());
          r.sampler = t.rows[i][t.column("sampler")];
          r.fid = csv_field_number(t, i, t.column("fid"));
          r.precision = csv_field_number(t, i, t.column("precision"));
          r.recall = csv_field_number(t, i, t.column("recall"));
          r.nll = csv_field_number(t, i, t.column("latent_test_nll"));
          r.nll_proxy = csv_field_number(t, i, t.column("latent_test_nll_proxy"));
          r.seconds = csv_field_number(t, i, t.column("train_seconds"));
          r.classifier = recorded_classifier(t, i);
          rows.push_back(r);
        }
        continue;
      }
      auto sum = read_json(dir + "/summary.json");
      Row base;
      base.method = run.arm->name;
      base.seed = run.seed;
      base.latent_dim = d;
      base.n_train = training_codes(shared, d, run.n_train);
      const auto& fin = sum.value("final", json::object());
      base.nll = stored(fin.value("nll_flow", kNaN), kValueDigits);
      base.nll_proxy = stored(fin.value("nll_proxy", kNaN), kValueDigits);
      base.seconds = stored(sum.value("wall_seconds", kNaN), kSecondsDigits);
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
        if (!v.is_object()) continue;  // "classifier"
        Row r = base;
        r.sampler = sampler;
        r.fid = stored(v.value("fid", kNaN), kValueDigits);
        r.precision = stored(v.value("precision", kNaN), kValueDigits);
        r.recall = stored(v.value("recall", kNaN), kValueDigits);
        if (!std::isnan(r.fid)) r.classifier = eval.value("classifier", kUnrecordedClassifier);
        rows.push_back(r);
      }
    }
  }
  // Samplers in a fixed order in the tables: flow, proxy, langevin.
  auto order = [](const std::string& s) { return s == "flow" ? 0 : s == "proxy" ? 1 : s == "langevin" ? 2 : 3; };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const Row& a, const Row& b) { return order(a.sampler) < order(b.sampler); });
  std::ostringstream csv;
  csv << "method,seed,latent_dim,n_train,sampler,fid,precision,recall,latent_test_nll,latent_test_nll_proxy,train_"
         "seconds,classifier\n";
  for (const auto& r : rows)
    csv << r.method << "," << r.seed << "," << r.latent_dim << "," << r.n_train << "," << r.sampler << ","
        << fixed(r.fid, kValueDigits) << "," << fixed(r.precision, kValueDigits) << "," << fixed(r.recall, kValueDigits)
        << "," << fixed(r.nll, kValueDigits) << "," << fixed(r.nll_proxy, kValueDigits) << ","
        << fixed(r.seconds, kSecondsDigits) << "," << r.classifier << "\n";
  for (auto i : recorded.unplanned) {
    auto f = recorded.table.rows[i];
    if (!recorded.table.header.empty() && recorded.table.header.back() != "classifier") f.push_back(recorded_classifier(recorded.table, i));
    csv << csv_line(f) << "\n";
  }
  fs::create_directories(out);
  write_file_atomically(out + "/results.csv", csv.str());

  std::ostringstream md;
  md << "# Latent image generation: " << c.data.source << "\n\n"
     << "FID, precision and recall (k = " << c.evaluation.k << ") in the classifier's feature space, "
     << c.evaluation.samples << " decoded samples against as many test images; latent test NLL in nats per code "
     << "(z-scored codes of the test images). Mean ± std over seeds (number of seeds). Lower FID and NLL are "
        "better.\n\n";
  const std::string current = shared.value("classifier_fingerprint", std::string());
  if (shared.contains("classifier_test_accuracy"))
    md << "Feature classifier test accuracy: " << fixed(shared["classifier_test_accuracy"].get<double>(), 4)
       << (current.empty() ? std::string() : " (classifier " + current + ")") << "\n\n";
  bool other_classifier = false;
  for (const auto& r : rows) other_classifier = other_classifier || (!r.classifier.empty() && r.classifier != current);
  if (other_classifier)
    md << "Rows whose sampler names another classifier were scored by another training of the classifier "
          "(\"unrecorded\": before the study kept which) and their run folders are not here to score again: their "
          "FID, precision and recall are kept apart, not averaged with this classifier's, and compare with them "
          "only roughly (two trainings of the recipe move FID by about one).\n\n";
  for (auto d : c.latent.latent_dims)
    for (auto n : c.latent.n_train) {
      const auto codes = training_codes(shared, d, n);
      const auto ae = autoencoder_numbers(shared, d);
      md << "## Latent size " << d << ", " << (n > 0 ? "a random subset of " : "") << codes << " training codes";
      if (ae.contains("test_mse"))
        md << " (autoencoder test MSE per pixel " << fixed(ae["test_mse"].get<double>(), 5) << ", trained on every image)";
      md << "\n\n";
      md << "| method | sampler | FID | precision | recall | latent test NLL | proxy NLL | train s "
            "|\n|---|---|---|---|---|---|---|---|\n";
      if (ae.contains("reference"))
        for (const char* k : {"train-images", "reconstructions"})
          md << "| " << k << " (reference) | - | " << fixed(ae["reference"][k]["fid"].get<double>(), 2) << " | "
             << fixed(ae["reference"][k]["precision"].get<double>()) << " | "
             << fixed(ae["reference"][k]["recall"].get<double>())
             << " | | | |\n";
      for (const auto& arm : c.latent.arms)
        for (const char* sampler : {"flow", "proxy", "langevin", "diverged"}) {
          // One line per classifier that scored the cell, this study's own first.
          std::vector<std::string> classifiers;
          for (const auto& row : rows)
            if (row.method == arm.name && row.latent_dim == d && row.n_train == codes && row.sampler == sampler &&
                std::find(classifiers.begin(), classifiers.end(), row.classifier) == classifiers.end())
              classifiers.push_back(row.classifier);
          std::stable_partition(classifiers.begin(), classifiers.end(),
                                [&](const std::string& k) { return k.empty() || k == current; });
          for (const auto& classifier : classifiers) {
          std::vector<double> fid, p, r, nll, nllp, sec;
          for (const auto& row : rows)
            if (row.method == arm.name && row.latent_dim == d && row.n_train == codes && row.sampler == sampler &&
                row.classifier == classifier) {
              fid.push_back(row.fid), p.push_back(row.precision), r.push_back(row.recall);
              nll.push_back(row.nll), nllp.push_back(row.nll_proxy), sec.push_back(row.seconds);
            }
          if (fid.empty()) continue;
          auto cell = [](const std::vector<double>& v, int digits) {
            CellFormat f;
            f.precision = digits;
            f.count = true;
            f.missing = "-";
            f.infinity_sign = false;
            return mean_std_cell(mean_std(v), f);
          };
          const bool other = !classifier.empty() && classifier != current;
          md << "| " << arm.name << " | " << sampler << (other ? " (classifier " + classifier + ")" : std::string()) << " | "
             << cell(fid, 2) << " | " << cell(p, 3) << " | " << cell(r, 3) << " | " << cell(nll, 2) << " | "
             << cell(nllp, 2) << " | " << cell(sec, 0) << " |\n";
          }
        }
      md << "\n";
    }
  write_file_atomically(out + "/results.md", md.str());
  std::vector<std::string> files = {"results.csv", "results.md"};
  if (!shared.empty()) {
    write_file_atomically(out + "/references.json", shared.dump(2) + "\n");
    files.push_back("references.json");
  }

  // Seed 0's grids: the flow's samples of every method side by side (samples_d<k>.png), and per
  // method with an energy model its three samplers in a row (samplers_d<k>.png). A cell with a seed-0
  // run known only from results.csv keeps the figures it has: they cannot be redrawn without it.
  for (auto d : c.latent.latent_dims)
    for (auto n : c.latent.n_train) {
      std::vector<plot::Image> flows, samplers;
      int sampler_columns = 1;
      const auto seed0 = c.latent.seeds.front();
      bool recorded_only = false;
      for (const auto& arm : c.latent.arms)
        recorded_only = recorded_only || recorded.planned.count(run_name(arm.name, d, n, seed0)) > 0;
      if (recorded_only) continue;
      for (const auto& arm : c.latent.arms) {
        std::vector<plot::Image> row;
        for (const char* sampler : {"flow", "proxy", "langevin"}) {
          const auto f = out + "/runs/" + run_name(arm.name, d, n, seed0) + "/grid_" + sampler + ".pt";
          if (!fs::exists(f)) continue;
          torch::Tensor imgs;
          torch::load(imgs, f);
          row.push_back(plot::image_grid(imgs, static_cast<int>(c.evaluation.grid), pixel_low(c), 1.0, 2,
                                         arm.name + " (" + sampler + ")"));
          const auto grid = "grids/" + arm.name + cell_suffix(d, n) + "_" + sampler + ".png";
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
      const auto suffix = cell_suffix(d, n) + ".png";
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

}  // namespace jeffreys::app
