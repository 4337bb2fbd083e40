#include "app/studies/study.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "app/report/table.h"
#include "app/runs/run.h"
#include "app/runs/run_folder.h"
#include "app/sweeps/commands.h"
#include "app/sweeps/path_name.h"
#include "app/sweeps/sweep.h"
#include "jeffreys/core/atomic_file.h"
#include "jeffreys/plot/charts.h"
#include "jeffreys/plot/png.h"
#include "app/config/toml_file.h"

namespace fs = std::filesystem;

namespace jeffreys::app {
namespace {


constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

std::string fmt(double v, int precision = 4) {
  if (std::isnan(v)) return "";
  std::ostringstream o;
  o << std::setprecision(precision) << v;
  return o.str();
}

}  // namespace

std::string lr_label(double lr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0e", lr);
  return buf;
}

double arm_lr(const StudyConfig& s, const std::string& arm) { return resolve(s, arm_named(s, arm), {}).optim.lr; }

StudyConfig load_study(const std::string& path, const std::vector<std::string>& overrides) {
  const toml::table root = parse_toml_file(path);
  StudyConfig s;
  s.file = path;
  only_known_keys(path, root, "", {"base", "set", "figure_n_train", "lr_panel_n_train", "lr_panel_arms", "density_arms", "curve_arms", "arm",
                     "grid"});
  const auto* base = root.get("base");
  if (base == nullptr || !base->is_string()) toml_fail(path, base, "base", "must name the run configuration every run starts from");
  s.base = (fs::path(path).parent_path() / *base->value<std::string>()).string();
  if (!fs::exists(s.base)) toml_fail(path, base, "base", "file '" + s.base + "' not found");
  s.set = read_toml_list<std::string>(path, root, "set", "");
  s.set.insert(s.set.end(), overrides.begin(), overrides.end());
  if (const auto* n = root.get("figure_n_train")) s.figure_n_train = n->value<int64_t>().value_or(s.figure_n_train);
  if (const auto* n = root.get("lr_panel_n_train")) s.lr_panel_n_train = n->value<int64_t>().value_or(s.lr_panel_n_train);
  s.lr_panel_arms = read_toml_list<std::string>(path, root, "lr_panel_arms", "");
  s.density_arms = read_toml_list<std::string>(path, root, "density_arms", "");
  s.curve_arms = read_toml_list<std::string>(path, root, "curve_arms", "");

  const auto* arms = root.get("arm");
  if (arms == nullptr || !arms->is_array_of_tables()) toml_fail(path, arms, "arm", "needs one or more [[arm]] tables");
  size_t i = 0;
  for (const auto& e : *arms->as_array()) {
    const auto& t = *e.as_table();
    const std::string where = "arm[" + std::to_string(i++) + "].";
    only_known_keys(path, t, where, {"name", "set"});
    StudyArm a;
    const auto* name = t.get("name");
    if (name == nullptr || !name->is_string()) toml_fail(path, &e, where + "name", "every arm needs a name");
    a.name = *name->value<std::string>();
    if (!is_path_name(a.name) || a.name.find('_') != std::string::npos)
      toml_fail(path, name, where + "name",
                "must be 1-128 letters, digits, '.', '-', '+' or '=', not '.' or '..' (it names folders; '_' "
                "separates the parts of a run's name)");
    for (const auto& b : s.arms)
      if (b.name == a.name) toml_fail(path, name, where + "name", "arm '" + a.name + "' is defined twice");
    a.set = read_toml_list<std::string>(path, t, "set", where);
    s.arms.push_back(a);
  }
  const auto* grids = root.get("grid");
  if (grids == nullptr || !grids->is_array_of_tables()) toml_fail(path, grids, "grid", "needs one or more [[grid]] tables");
  i = 0;
  for (const auto& e : *grids->as_array()) {
    const auto& t = *e.as_table();
    const std::string where = "grid[" + std::to_string(i++) + "].";
    only_known_keys(path, t, where, {"arms", "datasets", "n_train", "seeds", "lr"});
    StudyGrid g;
    g.arms = read_toml_list<std::string>(path, t, "arms", where);
    g.datasets = read_toml_list<std::string>(path, t, "datasets", where);
    g.n_train = read_toml_list<int64_t>(path, t, "n_train", where);
    g.seeds = read_toml_list<uint64_t>(path, t, "seeds", where);
    g.lr = read_toml_list<double>(path, t, "lr", where);
    for (const char* k : {"arms", "datasets", "n_train", "seeds"})
      if (t.get(k) == nullptr || !t.get(k)->as_array() || t.get(k)->as_array()->empty())
        toml_fail(path, &e, where + k, "must be a non-empty array");
    for (const auto& a : g.arms)
      if (std::none_of(s.arms.begin(), s.arms.end(), [&](const StudyArm& x) { return x.name == a; }))
        toml_fail(path, t.get("arms"), where + "arms", "no [[arm]] named '" + a + "'");
    for (double lr : g.lr)
      if (!(lr > 0)) toml_fail(path, t.get("lr"), where + "lr", "learning rates must be > 0");
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
  auto runs = plan_study(study);
  const Sweep sweep("study", out, options);
  for (const auto& r : runs) {
    const RunFolder folder(sweep.run_dir(r.name));
    if (folder.has_config() && !(folder.read_config() == r.config))
      throw std::runtime_error("'" + folder.dir() + "' was trained with a different configuration than the study now plans; "
                               "delete it (or use another --out) to rerun it");
  }
  // Seed-major order: a study stopped early still has every arm for its first seeds.
  std::stable_sort(runs.begin(), runs.end(), [](const StudyRun& a, const StudyRun& b) { return a.seed < b.seed; });
  std::vector<SweepRun> plan;
  for (const auto& r : runs) {
    const auto config_file = sweep.config_file(r.name);
    plan.push_back({r.name, train_command(config_file, sweep.run_dir(r.name)),
                    [config_file, &r] { write_file_atomically(config_file, r.config.to_toml()); }});
  }
  SweepRules rules;
  const auto recorded = recorded_runs(study, out);
  rules.finished = [recorded](const std::string& dir) {
    return run_status::finished_run(dir) || recorded.count(fs::path(dir).filename().string()) > 0;
  };
  rules.judge = [](const std::string& dir, int) -> RunEnd {
    auto rec = RunFolder(dir).read_summary();
    if (rec && rec->status == run_status::completed)
      return {RunEnd::completed, "completed, final NLL " + fmt(rec->final_value("nll_flow"))};
    if (rec && rec->status == run_status::diverged)
      return {RunEnd::diverged, "diverged at step " + fmt(rec->steps_done, 10)};
    return {RunEnd::failed, ""};
  };
  auto o = sweep.run(plan, rules);
  StudyOutcome outcome{o.planned, o.skipped, o.completed, o.diverged, o.failed, o.seconds};
  report_study(study, out);
  return outcome;
}

}  // namespace jeffreys::app
