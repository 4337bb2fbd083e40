#include "jeffreys/experiment/study.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "jeffreys/core/atomic_file.h"
#include "jeffreys/core/process_pool.h"
#include "jeffreys/experiment/run.h"
#include "jeffreys/plot/charts.h"
#include "jeffreys/plot/png.h"
#include "study_files.h"

namespace fs = std::filesystem;

namespace jeffreys::experiment {
namespace {

using detail::fail;
using detail::mean_std;
using detail::MeanStd;
using detail::only;
using detail::read_list;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string lr_label(double lr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0e", lr);
  return buf;
}

const StudyArm& arm_named(const StudyConfig& s, const std::string& name) {
  for (const auto& a : s.arms)
    if (a.name == name) return a;
  throw ConfigError(s.file + ": no [[arm]] named '" + name + "'");
}

Config resolve(const StudyConfig& s, const StudyArm& arm, const std::vector<std::string>& extra) {
  std::vector<std::string> sets = s.set;
  sets.insert(sets.end(), arm.set.begin(), arm.set.end());
  sets.insert(sets.end(), extra.begin(), extra.end());
  try {
    return load_config(s.base, sets);
  } catch (const ConfigError& e) {
    throw ConfigError(s.file + ": arm '" + arm.name + "': " + e.what());
  }
}

/// The arm's learning rate when a grid does not set one.
double own_lr(const StudyConfig& s, const std::string& arm) { return resolve(s, arm_named(s, arm), {}).optim.lr; }

double json_number(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return std::stod(j.get<std::string>());
  return kNaN;
}

struct RunResult {
  const StudyRun* run = nullptr;
  std::string status;
  double steps_done = kNaN, seconds = kNaN;
  std::map<std::string, double> final_, best;
  std::map<std::string, double> best_step;
};

std::optional<RunResult> read_result(const StudyRun& r, const std::string& dir) {
  std::ifstream in(dir + "/summary.json");
  if (!in) return std::nullopt;
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  RunResult out;
  out.run = &r;
  out.status = j.value("status", "");
  out.steps_done = j.value("steps_done", kNaN);
  out.seconds = j.value("wall_seconds", kNaN);
  for (const auto& [k, v] : j["final"].items()) out.final_[k] = json_number(v);
  for (const auto& [k, v] : j["best"].items()) {
    out.best[k] = json_number(v["value"]);
    out.best_step[k] = json_number(v["step"]);
  }
  return out;
}

bool finished(const std::string& status) { return status == "completed" || status == "diverged"; }

std::string fmt(double v, int precision = 4) {
  if (std::isnan(v)) return "";
  std::ostringstream o;
  o << std::setprecision(precision) << v;
  return o.str();
}

double get(const std::map<std::string, double>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? kNaN : it->second;
}

std::string cell(const MeanStd& m, int precision = 3) {
  if (m.n == 0) return "–";
  // An infinite divergence (a flow has mass where the truth has none, e.g. checkerboard's reverse KL).
  if (std::isinf(m.mean) || std::isnan(m.mean)) return m.mean > 0 ? "∞" : "n/a";
  std::ostringstream o;
  o << std::fixed << std::setprecision(precision) << m.mean << " ± " << m.std;
  return o.str();
}

/// Mean over seeds of a metric at each step where every seed has it.
plot::Series mean_curve(const std::vector<const RunResult*>& runs, const std::string& out, const std::string& metric,
                        const std::string& name) {
  std::map<double, std::vector<double>> by_step;
  for (const auto* r : runs) {
    for (const auto& row : read_metrics_csv(out + "/runs/" + r->run->name)) {
      auto it = row.find(metric);
      if (it != row.end() && std::isfinite(it->second)) by_step[row.at("step")].push_back(it->second);
    }
  }
  plot::Series s{name, {}, {}};
  for (const auto& [step, v] : by_step) {
    if (v.size() != runs.size()) continue;
    s.x.push_back(step);
    s.y.push_back(mean_std(v).mean);
  }
  return s;
}

}  // namespace

StudyConfig load_study(const std::string& path, const std::vector<std::string>& overrides) {
  const toml::table root = detail::parse_file(path);
  StudyConfig s;
  s.file = path;
  only(path, root, "", {"base", "set", "figure_n_train", "lr_panel_n_train", "lr_panel_arms", "density_arms", "curve_arms", "arm",
                     "grid"});
  const auto* base = root.get("base");
  if (base == nullptr || !base->is_string()) fail(path, base, "base", "must name the run configuration every run starts from");
  s.base = (fs::path(path).parent_path() / *base->value<std::string>()).string();
  if (!fs::exists(s.base)) fail(path, base, "base", "file '" + s.base + "' not found");
  s.set = read_list<std::string>(path, root, "set", "");
  s.set.insert(s.set.end(), overrides.begin(), overrides.end());
  if (const auto* n = root.get("figure_n_train")) s.figure_n_train = n->value<int64_t>().value_or(s.figure_n_train);
  if (const auto* n = root.get("lr_panel_n_train")) s.lr_panel_n_train = n->value<int64_t>().value_or(s.lr_panel_n_train);
  s.lr_panel_arms = read_list<std::string>(path, root, "lr_panel_arms", "");
  s.density_arms = read_list<std::string>(path, root, "density_arms", "");
  s.curve_arms = read_list<std::string>(path, root, "curve_arms", "");

  const auto* arms = root.get("arm");
  if (arms == nullptr || !arms->is_array_of_tables()) fail(path, arms, "arm", "needs one or more [[arm]] tables");
  size_t i = 0;
  for (const auto& e : *arms->as_array()) {
    const auto& t = *e.as_table();
    const std::string where = "arm[" + std::to_string(i++) + "].";
    only(path, t, where, {"name", "set"});
    StudyArm a;
    const auto* name = t.get("name");
    if (name == nullptr || !name->is_string()) fail(path, &e, where + "name", "every arm needs a name");
    a.name = *name->value<std::string>();
    if (a.name.empty() || a.name.find_first_of("/ _") != std::string::npos)
      fail(path, name, where + "name", "must be non-empty, without '/', '_' or spaces (it names folders)");
    for (const auto& b : s.arms)
      if (b.name == a.name) fail(path, name, where + "name", "arm '" + a.name + "' is defined twice");
    a.set = read_list<std::string>(path, t, "set", where);
    s.arms.push_back(a);
  }
  const auto* grids = root.get("grid");
  if (grids == nullptr || !grids->is_array_of_tables()) fail(path, grids, "grid", "needs one or more [[grid]] tables");
  i = 0;
  for (const auto& e : *grids->as_array()) {
    const auto& t = *e.as_table();
    const std::string where = "grid[" + std::to_string(i++) + "].";
    only(path, t, where, {"arms", "datasets", "n_train", "seeds", "lr"});
    StudyGrid g;
    g.arms = read_list<std::string>(path, t, "arms", where);
    g.datasets = read_list<std::string>(path, t, "datasets", where);
    g.n_train = read_list<int64_t>(path, t, "n_train", where);
    g.seeds = read_list<uint64_t>(path, t, "seeds", where);
    g.lr = read_list<double>(path, t, "lr", where);
    for (const char* k : {"arms", "datasets", "n_train", "seeds"})
      if (t.get(k) == nullptr || !t.get(k)->as_array() || t.get(k)->as_array()->empty())
        fail(path, &e, where + k, "must be a non-empty array");
    for (const auto& a : g.arms)
      if (std::none_of(s.arms.begin(), s.arms.end(), [&](const StudyArm& x) { return x.name == a; }))
        fail(path, t.get("arms"), where + "arms", "no [[arm]] named '" + a + "'");
    for (double lr : g.lr)
      if (!(lr > 0)) fail(path, t.get("lr"), where + "lr", "learning rates must be > 0");
    s.grids.push_back(g);
  }
  for (const auto* list : {&s.lr_panel_arms, &s.density_arms, &s.curve_arms})
    for (const auto& a : *list) arm_named(s, a);
  plan_study(s);  // every run's configuration is checked before anything runs
  return s;
}

std::vector<StudyRun> plan_study(const StudyConfig& s) {
  std::vector<StudyRun> runs;
  std::set<std::string> seen;
  for (const auto& g : s.grids)
    for (const auto& arm_name : g.arms) {
      const auto& arm = arm_named(s, arm_name);
      std::vector<double> lrs = g.lr.empty() ? std::vector<double>{kNaN} : g.lr;
      for (const auto& ds : g.datasets)
        for (int64_t n : g.n_train)
          for (double lr : lrs)
            for (uint64_t seed : g.seeds) {
              std::vector<std::string> extra = {"data.name=\"" + ds + "\"", "data.n_train=" + std::to_string(n),
                                                "seed=" + std::to_string(seed)};
              if (!std::isnan(lr)) {
                extra.push_back("optim.lr=" + fmt(lr, 17));
                extra.push_back("optim.lr_proxy=" + fmt(lr, 17));
              }
              StudyRun r;
              r.config = resolve(s, arm, extra);
              if (r.config.data.name == "csv")
                throw ConfigError(s.file + ": studies run on built-in data sets, not csv");
              r.arm = arm.name;
              r.dataset = ds;
              r.n_train = n;
              r.seed = seed;
              r.lr = r.config.optim.lr;
              r.name = arm.name + "__" + ds + "__n" + std::to_string(n) + "__lr" + lr_label(r.lr) + "__s" +
                       std::to_string(seed);
              if (seen.insert(r.name).second) runs.push_back(std::move(r));
            }
    }
  return runs;
}

StudyOutcome run_study(const StudyConfig& study, const std::string& out, const StudyOptions& options) {
  if (options.executable.empty() || !fs::exists(options.executable))
    throw std::invalid_argument("study: the jeffreys executable '" + options.executable + "' does not exist");
  const auto runs = plan_study(study);
  for (const char* d : {"runs", "configs", "logs"}) fs::create_directories(out + "/" + d);
  StudyOutcome outcome;
  outcome.planned = static_cast<int64_t>(runs.size());
  std::vector<const StudyRun*> todo;
  for (const auto& r : runs) {
    const std::string dir = out + "/runs/" + r.name;
    if (fs::exists(dir + "/config.toml") && !(load_config(dir + "/config.toml") == r.config))
      throw std::runtime_error("'" + dir + "' was trained with a different configuration than the study now plans; "
                               "delete it (or use another --out) to rerun it");
    auto res = read_result(r, dir);
    if (res && finished(res->status)) {
      ++outcome.skipped;
      continue;
    }
    write_file_atomically(out + "/configs/" + r.name + ".toml", r.config.to_toml());
    todo.push_back(&r);
  }
  // Seed-major order: a study stopped early still has every arm for its first seeds.
  std::stable_sort(todo.begin(), todo.end(), [](const StudyRun* a, const StudyRun* b) { return a->seed < b->seed; });
  if (options.progress)
    *options.progress << "study: " << runs.size() << " runs planned, " << outcome.skipped << " already finished, "
                      << todo.size() << " to train with " << options.jobs << " at a time\n"
                      << std::flush;
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  std::vector<ProcessJob> jobs;
  for (const auto* r : todo)
    jobs.push_back({{options.executable, "train", "--config", out + "/configs/" + r->name + ".toml", "--out",
                     out + "/runs/" + r->name, "--resume"},
                    out + "/logs/" + r->name + ".log"});
  double busy_seconds = 0;
  int64_t done = 0;
  run_processes(jobs, options.jobs, [&](size_t i, int exit_code, double took) {
    const StudyRun* r = todo[i];
    busy_seconds += took;
    ++done;
    auto res = read_result(*r, out + "/runs/" + r->name);
    std::string what;
    if (res && res->status == "completed") {
      ++outcome.completed;
      what = "completed, final NLL " + fmt(get(res->final_, "nll_flow"));
    } else if (res && res->status == "diverged") {
      ++outcome.diverged;
      what = "diverged at step " + fmt(res->steps_done, 10);
    } else {
      ++outcome.failed;
      what = "FAILED (exit " + std::to_string(exit_code) + "), see logs/" + r->name + ".log";
    }
    if (options.progress) {
      const double per_run = busy_seconds / static_cast<double>(done);
      const double left = per_run * static_cast<double>(todo.size() - static_cast<size_t>(done)) / std::max(1, options.jobs);
      *options.progress << "[" << done << "/" << todo.size() << "] " << r->name << ": " << what << " (" << std::fixed
                        << std::setprecision(0) << took << " s; about " << left / 60 << " min left)\n"
                        << std::defaultfloat << std::flush;
    }
  });
  outcome.seconds = since(t0);
  report_study(study, out);
  return outcome;
}

std::vector<std::string> report_study(const StudyConfig& study, const std::string& out) {
  const auto runs = plan_study(study);
  fs::create_directories(out);
  std::vector<RunResult> results;
  for (const auto& r : runs)
    if (auto res = read_result(r, out + "/runs/" + r.name)) results.push_back(*res);
  std::vector<std::string> written;

  // results.csv: one row per run.
  {
    std::ostringstream o;
    o << "arm,dataset,n_train,seed,lr,status,steps_done,final_nll,best_nll,best_step,final_nll_proxy,best_nll_proxy,"
         "final_forward_kl,final_reverse_kl,final_jeffreys,best_jeffreys,final_mmd,final_ess,final_lambda,final_slack,"
         "train_seconds\n";
    for (const auto& x : results) {
      const auto& r = *x.run;
      o << r.arm << "," << r.dataset << "," << r.n_train << "," << r.seed << "," << fmt(r.lr) << "," << x.status << ","
        << fmt(x.steps_done, 10) << "," << fmt(get(x.final_, "nll_flow"), 6) << "," << fmt(get(x.best, "nll_flow"), 6)
        << "," << fmt(get(x.best_step, "nll_flow"), 10) << "," << fmt(get(x.final_, "nll_proxy"), 6) << ","
        << fmt(get(x.best, "nll_proxy"), 6) << "," << fmt(get(x.final_, "forward_kl"), 6) << ","
        << fmt(get(x.final_, "reverse_kl"), 6) << "," << fmt(get(x.final_, "jeffreys"), 6) << ","
        << fmt(get(x.best, "jeffreys"), 6) << "," << fmt(get(x.final_, "mmd"), 6) << "," << fmt(get(x.final_, "ess"), 6)
        << "," << fmt(get(x.final_, "lambda_0"), 6) << "," << fmt(get(x.final_, "slack_0"), 6) << ","
        << fmt(x.seconds, 6) << "\n";
    }
    write_file_atomically(out + "/results.csv", o.str());
    written.push_back("results.csv");
  }

  // Groups of seeds, in plan order.
  using Key = std::tuple<std::string, std::string, int64_t, double>;  // arm, dataset, n, lr
  std::vector<Key> order;
  std::map<Key, std::vector<const RunResult*>> groups;
  for (const auto& x : results) {
    Key k{x.run->arm, x.run->dataset, x.run->n_train, x.run->lr};
    if (!groups.count(k)) order.push_back(k);
    groups[k].push_back(&x);
  }
  auto stat = [&](const std::vector<const RunResult*>& g, const std::string& which, const std::string& metric) {
    std::vector<double> v;
    for (const auto* x : g) v.push_back(get(which == "best" ? x->best : x->final_, metric));
    return mean_std(v);
  };
  std::map<std::string, double> default_lr;
  for (const auto& a : study.arms) default_lr[a.name] = own_lr(study, a.name);

  // results.md: pivot tables at each arm's own learning rate, then the learning-rate panel, then all groups.
  {
    std::ostringstream o;
    o << "# Study results\n\nMean ± standard deviation over seeds; NLL in nats on fresh samples of the true "
         "distribution (lower is better). Generated by `jeffreys study` from `"
      << study.file << "`.\n";
    std::vector<std::string> arms, datasets;
    std::vector<int64_t> sizes;
    for (const auto& k : order) {
      if (std::find(arms.begin(), arms.end(), std::get<0>(k)) == arms.end()) arms.push_back(std::get<0>(k));
      if (std::find(datasets.begin(), datasets.end(), std::get<1>(k)) == datasets.end()) datasets.push_back(std::get<1>(k));
      if (std::find(sizes.begin(), sizes.end(), std::get<2>(k)) == sizes.end()) sizes.push_back(std::get<2>(k));
    }
    std::sort(sizes.begin(), sizes.end());
    auto pivot = [&](const std::string& title, const std::string& which, const std::string& metric) {
      o << "\n## " << title << "\n\n| data | n_train |";
      for (const auto& a : arms) o << " " << a << " |";
      o << "\n|---|---|";
      for (size_t i = 0; i < arms.size(); ++i) o << "---|";
      o << "\n";
      for (const auto& d : datasets)
        for (int64_t n : sizes) {
          bool any = false;
          std::ostringstream line;
          line << "| " << d << " | " << n << " |";
          for (const auto& a : arms) {
            auto it = groups.find(Key{a, d, n, default_lr[a]});
            MeanStd m;
            if (it != groups.end()) m = stat(it->second, which, metric);
            any = any || m.n > 0;
            line << " " << cell(m) << " |";
          }
          if (any) o << line.str() << "\n";
        }
    };
    pivot("Final NLL of the flow", "final", "nll_flow");
    pivot("Best NLL of the flow over training", "best", "nll_flow");
    pivot("Final Jeffreys divergence of the flow (grid quadrature)", "final", "jeffreys");
    pivot("Final NLL of the energy model", "final", "nll_proxy");
    o << "\n## All groups\n\n| arm | data | n_train | lr | seeds | diverged | final NLL | best NLL | best step | "
         "final Jeffreys | energy NLL | seconds/run |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& k : order) {
      const auto& g = groups[k];
      int div = 0;
      std::vector<double> secs, bstep;
      for (const auto* x : g) {
        div += x->status == "diverged";
        secs.push_back(x->seconds);
        bstep.push_back(get(x->best_step, "nll_flow"));
      }
      o << "| " << std::get<0>(k) << " | " << std::get<1>(k) << " | " << std::get<2>(k) << " | " << lr_label(std::get<3>(k))
        << " | " << g.size() << " | " << div << " | " << cell(stat(g, "final", "nll_flow")) << " | "
        << cell(stat(g, "best", "nll_flow")) << " | " << cell(mean_std(bstep), 0) << " | "
        << cell(stat(g, "final", "jeffreys")) << " | " << cell(stat(g, "final", "nll_proxy")) << " | "
        << cell(mean_std(secs), 0) << " |\n";
    }
    write_file_atomically(out + "/results.md", o.str());
    written.push_back("results.md");
  }

  std::vector<std::string> datasets;
  for (const auto& r : runs)
    if (std::find(datasets.begin(), datasets.end(), r.dataset) == datasets.end()) datasets.push_back(r.dataset);

  // nll_curves.png: the paper's panel a, per data set, at figure_n_train and each arm's own rate.
  {
    std::vector<std::string> curve_arms = study.curve_arms;
    if (curve_arms.empty())
      for (const auto& a : study.arms) curve_arms.push_back(a.name);
    std::vector<plot::Image> charts;
    for (const auto& d : datasets) {
      std::vector<plot::Series> series;
      for (const auto& a : curve_arms) {
        auto it = groups.find(Key{a, d, study.figure_n_train, default_lr[a]});
        if (it == groups.end()) continue;
        auto s = mean_curve(it->second, out, "nll_flow", a);
        if (!s.x.empty()) series.push_back(s);
      }
      for (const auto& a : curve_arms) {
        auto it = groups.find(Key{a, d, study.figure_n_train, default_lr[a]});
        if (it == groups.end()) continue;
        auto s = mean_curve(it->second, out, "nll_proxy", a + " (energy)");
        if (!s.x.empty()) series.push_back(s);
      }
      if (!series.empty())
        charts.push_back(plot::line_chart(series, d + ", " + std::to_string(study.figure_n_train) + " points: test NLL",
                                          "step", "NLL (nats, mean over seeds)", false, 820, 420, true));
    }
    if (!charts.empty()) {
      plot::save_png(plot::tile(charts, 2), out + "/nll_curves.png");
      written.push_back("nll_curves.png");
    }
  }

  // lr_panel.png: panel b, log axis.
  if (!study.lr_panel_arms.empty()) {
    std::vector<plot::Image> charts;
    for (const auto& d : datasets) {
      std::vector<plot::Series> series;
      for (const auto& a : study.lr_panel_arms)
        for (const auto& k : order)
          if (std::get<0>(k) == a && std::get<1>(k) == d && std::get<2>(k) == study.lr_panel_n_train) {
            auto s = mean_curve(groups[k], out, "nll_flow", a + " lr " + lr_label(std::get<3>(k)));
            if (!s.x.empty()) series.push_back(s);
          }
      if (!series.empty())
        charts.push_back(plot::line_chart(series, d + ", " + std::to_string(study.lr_panel_n_train) +
                                                      " points: test NLL by learning rate",
                                          "step", "NLL (nats, log axis)", true, 820, 420, true));
    }
    if (!charts.empty()) {
      plot::save_png(plot::tile(charts, 2), out + "/lr_panel.png");
      written.push_back("lr_panel.png");
    }
  }

  // densities.png: per data set, the truth, the training points, each density arm's flow, the last one's energy.
  if (!study.density_arms.empty()) {
    std::vector<std::vector<plot::Image>> rows;
    for (const auto& d : datasets) {
      std::vector<plot::Image> row;
      bool first = true;
      for (size_t i = 0; i < study.density_arms.size(); ++i) {
        const auto& a = study.density_arms[i];
        auto it = groups.find(Key{a, d, study.figure_n_train, default_lr[a]});
        if (it == groups.end() || it->second.front()->status != "completed") continue;
        const auto* x = it->second.front();  // the first seed
        auto m = density_maps(out + "/runs/" + x->run->name, 160);
        // One colour scale per row, the truth's, so that spikes of an overfitted flow saturate instead of hiding the rest.
        auto style = plot::HeatmapOptions().width(300).height(300);
        if (m.truth.defined()) style.vmin(0).vmax(m.truth.max().item<double>());
        if (first) {
          if (m.truth.defined()) row.push_back(plot::heatmap(m.truth, m.extent, d + ": true density", {}, style));
          row.push_back(plot::scatter(m.train_points, m.extent,
                                      std::to_string(m.train_points.size(0)) + " training points",
                                      plot::ScatterOptions().width(300).height(300)));
          first = false;
        }
        row.push_back(plot::heatmap(m.flow, m.extent, a + ": flow", {}, style));
        if (i + 1 == study.density_arms.size() && m.proxy.defined())
          row.push_back(plot::heatmap(m.proxy, m.extent, a + ": energy model", {}, style));
      }
      if (!row.empty()) rows.push_back(std::move(row));
    }
    int columns = 0;
    for (const auto& row : rows) columns = std::max(columns, static_cast<int>(row.size()));
    std::vector<plot::Image> panels;
    for (auto& row : rows) {
      // Rows of unequal length would misalign the grid: pad with blank panels.
      while (static_cast<int>(row.size()) < columns) row.push_back(plot::Image(300, 300));
      panels.insert(panels.end(), row.begin(), row.end());
    }
    if (!panels.empty()) {
      plot::save_png(plot::tile(panels, columns), out + "/densities.png");
      written.push_back("densities.png");
    }
  }
  return written;
}

}  // namespace jeffreys::experiment
