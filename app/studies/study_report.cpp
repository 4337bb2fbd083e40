// The 2D study's report: results.csv, results.md and the figures, from the run folders present and
// what the previous report recorded of runs whose folders are not (a clone).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>

#include "app/report/table.h"
#include "app/runs/run.h"
#include "app/runs/run_folder.h"
#include "app/studies/study.h"
#include "jeffreys/core/atomic_file.h"

namespace fs = std::filesystem;

namespace jeffreys::app {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string fmt(double v, int precision = 4) {
  if (std::isnan(v)) return "";
  std::ostringstream o;
  o << std::setprecision(precision) << v;
  return o.str();
}

/// A run of the plan with what its folder's summary.json says, or, where the folder is not there,
/// what an earlier report recorded of it in results.csv (`from_folder` false).
struct RunResult {
  const StudyRun* run = nullptr;
  RunRecord record;
  bool from_folder = true;
  const std::string& status() const { return record.status; }
};

std::optional<RunResult> read_result(const StudyRun& r, const std::string& dir) {
  auto record = RunFolder(dir).read_summary();
  if (!record) return std::nullopt;
  return RunResult{&r, *record};
}

/// One run's key in the report's files: arm, data set, size, seed and learning rate as printed.
std::string run_key(const std::string& arm, const std::string& dataset, const std::string& n, const std::string& seed,
                    const std::string& lr) {
  return arm + "|" + dataset + "|" + n + "|" + seed + "|" + lr;
}
std::string run_key(const StudyRun& r) {
  return run_key(r.arm, r.dataset, std::to_string(r.n_train), std::to_string(r.seed), fmt(r.lr));
}

/// What an earlier report wrote into results.csv, curves.csv and the density files, by run (or data
/// set). A clone has these committed files but not the run folders: a report keeps what it cannot
/// recompute instead of writing tables without those runs.
/// results.csv's columns after arm, dataset, n_train, seed, lr, status and steps_done, up to
/// train_seconds: which value of which metric each holds. The report writes them and reads them back.
enum class Value { final, best, best_step };
struct MetricColumn {
  const char* column;
  Value value;
  const char* metric;
};
constexpr MetricColumn kMetricColumns[] = {
    {"final_nll", Value::final, "nll_flow"},          {"best_nll", Value::best, "nll_flow"},
    {"best_step", Value::best_step, "nll_flow"},      {"final_nll_proxy", Value::final, "nll_proxy"},
    {"best_nll_proxy", Value::best, "nll_proxy"},     {"final_forward_kl", Value::final, "forward_kl"},
    {"final_reverse_kl", Value::final, "reverse_kl"}, {"final_jeffreys", Value::final, "jeffreys"},
    {"best_jeffreys", Value::best, "jeffreys"},       {"final_mmd", Value::final, "mmd"},
    {"final_ess", Value::final, "ess"},               {"final_lambda", Value::final, "lambda_0"},
    {"final_slack", Value::final, "slack_0"}};

std::map<std::string, double>& values_of(RunRecord& r, Value v) {
  return v == Value::final ? r.final_metrics : v == Value::best ? r.best : r.best_step;
}

struct Recorded {
  std::map<std::string, RunRecord> records;
  std::map<std::string, std::string> result_lines;             ///< the results.csv line of each run
  std::map<std::string, std::vector<std::string>> curve_lines;  ///< its curves.csv lines
  std::vector<std::string> result_order;                        ///< runs in file order
  std::map<std::string, std::vector<std::string>> density_lines, point_lines;  ///< by data set

  static Recorded read(const std::string& out) {
    Recorded rec;
    const auto t = read_csv_table(out + "/results.csv");
    auto col = [&](const std::string& name) { return t.find_column(name); };
    const auto arm = col("arm"), dataset = col("dataset"), n = col("n_train"), seed = col("seed"), lr = col("lr"),
               status = col("status");
    if (arm && dataset && n && seed && lr && status) {
      for (size_t i = 0; i < t.rows.size(); ++i) {
        const auto& f = t.rows[i];
        RunRecord r;
        r.status = f[*status];
        auto number = [&](const char* name) { auto c = col(name); return c ? csv_field_number(t, i, *c) : kNaN; };
        r.steps_done = number("steps_done");
        r.wall_seconds = number("train_seconds");
        for (const auto& m : kMetricColumns)
          if (const double v = number(m.column); !std::isnan(v)) values_of(r, m.value)[m.metric] = v;
        const auto key = run_key(f[*arm], f[*dataset], f[*n], f[*seed], f[*lr]);
        if (!rec.records.count(key)) rec.result_order.push_back(key);
        rec.records[key] = r;
        rec.result_lines[key] = csv_line(f);
      }
    }
    // curves.csv: arm,dataset,n_train,lr,seed,step,...; densities.csv and train_points.csv: dataset first.
    const auto curves = read_csv_table(out + "/curves.csv");
    for (const auto& f : curves.rows)
      if (f.size() >= 5) rec.curve_lines[run_key(f[0], f[1], f[2], f[4], f[3])].push_back(csv_line(f));
    for (const auto& f : read_csv_table(out + "/densities.csv").rows) rec.density_lines[f[0]].push_back(csv_line(f));
    for (const auto& f : read_csv_table(out + "/train_points.csv").rows) rec.point_lines[f[0]].push_back(csv_line(f));
    return rec;
  }
};


std::string cell(const MeanStd& m, int precision = 3) {
  CellFormat f;
  f.precision = precision;
  return mean_std_cell(m, f);
}

using Key = std::tuple<std::string, std::string, int64_t, double>;  // arm, dataset, n, lr

/// Everything the report's parts read: the plan's runs that have a summary, grouped over seeds.
struct Report {
  const StudyConfig& study;
  std::string out;
  std::vector<StudyRun> runs;
  std::vector<RunResult> results;
  std::vector<Key> order;  ///< groups in plan order
  std::map<Key, std::vector<const RunResult*>> groups;
  std::map<std::string, double> default_lr;
  std::vector<std::string> datasets;
  Recorded recorded;  ///< what the previous report wrote (runs used from it are removed)

  MeanStd stat(const std::vector<const RunResult*>& g, const std::string& which, const std::string& metric) const {
    std::vector<double> v;
    for (const auto* x : g) v.push_back(which == "best" ? x->record.best_value(metric) : x->record.final_value(metric));
    return mean_std(v);
  }
};

/// results.csv: one row per run.
void write_results_csv(const Report& r) {
  std::ostringstream o;
  o << "arm,dataset,n_train,seed,lr,status,steps_done";
  for (const auto& m : kMetricColumns) o << "," << m.column;
  o << ",train_seconds\n";
  for (const auto& x : r.results) {
    const auto& run = *x.run;
    o << run.arm << "," << run.dataset << "," << run.n_train << "," << run.seed << "," << fmt(run.lr) << "," << x.status() << ","
      << fmt(x.record.steps_done, 10);
    for (const auto& m : kMetricColumns) {
      const double v = m.value == Value::final  ? x.record.final_value(m.metric)
                       : m.value == Value::best ? x.record.best_value(m.metric)
                                                : x.record.best_step_of(m.metric);
      o << "," << fmt(v, m.value == Value::best_step ? 10 : 6);
    }
    o << "," << fmt(x.record.wall_seconds, 6) << "\n";
  }
  // Recorded runs the study no longer plans stay in the file: nothing written is dropped.
  for (const auto& key : r.recorded.result_order)
    if (r.recorded.records.count(key)) o << r.recorded.result_lines.at(key) << "\n";
  write_file_atomically(r.out + "/results.csv", o.str());
}

/// curves.csv: every run's evaluation rows (the compact data the report's curve figures are drawn from,
/// committed so that a clone redraws them without the run folders).
void write_curves_csv(const Report& r) {
  static const std::vector<std::string> metrics = {"nll_flow", "nll_proxy", "forward_kl", "reverse_kl", "jeffreys", "mmd"};
  std::ostringstream o;
  o << "arm,dataset,n_train,lr,seed,step";
  for (const auto& m : metrics) o << "," << m;
  o << "\n";
  for (const auto& x : r.results) {
    const auto& run = *x.run;
    if (!x.from_folder) {
      if (auto it = r.recorded.curve_lines.find(run_key(run)); it != r.recorded.curve_lines.end())
        for (const auto& line : it->second) o << line << "\n";
      continue;
    }
    for (const auto& row : read_metrics_csv(r.out + "/runs/" + run.name)) {
      auto it = row.find("nll_flow");
      if (it == row.end() || std::isnan(it->second)) continue;  // a training-terms row, not an evaluation
      o << run.arm << "," << run.dataset << "," << run.n_train << "," << fmt(run.lr) << "," << run.seed << ","
        << fmt(row.at("step"), 10);
      for (const auto& m : metrics) {
        auto v = row.find(m);
        o << "," << (v == row.end() ? "" : fmt(v->second, 6));
      }
      o << "\n";
    }
  }
  for (const auto& key : r.recorded.result_order)
    if (r.recorded.records.count(key))
      if (auto it = r.recorded.curve_lines.find(key); it != r.recorded.curve_lines.end())
        for (const auto& line : it->second) o << line << "\n";
  write_file_atomically(r.out + "/curves.csv", o.str());
}

/// results.md: pivot tables at each arm's own learning rate, then every group.
void write_results_md(const Report& r) {
  std::ostringstream o;
  o << "# Study results\n\nMean ± standard deviation over seeds; NLL in nats on fresh samples of the true "
       "distribution (lower is better). Generated by `jeffreys study` from `"
    << r.study.file << "`.\n";
  std::vector<std::string> arms, datasets;
  std::vector<int64_t> sizes;
  for (const auto& k : r.order) {
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
          auto it = r.groups.find(Key{a, d, n, r.default_lr.at(a)});
          MeanStd m;
          if (it != r.groups.end()) m = r.stat(it->second, which, metric);
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
  for (const auto& k : r.order) {
    const auto& g = r.groups.at(k);
    int div = 0;
    std::vector<double> secs, bstep;
    for (const auto* x : g) {
      div += x->status() == run_status::diverged;
      secs.push_back(x->record.wall_seconds);
      bstep.push_back(x->record.best_step_of("nll_flow"));
    }
    o << "| " << std::get<0>(k) << " | " << std::get<1>(k) << " | " << std::get<2>(k) << " | " << lr_label(std::get<3>(k))
      << " | " << g.size() << " | " << div << " | " << cell(r.stat(g, "final", "nll_flow")) << " | "
      << cell(r.stat(g, "best", "nll_flow")) << " | " << cell(mean_std(bstep), 0) << " | "
      << cell(r.stat(g, "final", "jeffreys")) << " | " << cell(r.stat(g, "final", "nll_proxy")) << " | "
      << cell(mean_std(secs), 0) << " |\n";
  }
  write_file_atomically(r.out + "/results.md", o.str());
}

/// densities.csv (one row per grid row: data set, arm, panel, extent, then the density along x)
/// and train_points.csv: the density figure's data, per data set at figure_n_train and the first
/// seed: the truth, the flow of each density arm, the last arm's energy model.
bool write_density_maps(const Report& r) {
  if (r.study.density_arms.empty()) return false;
  constexpr int64_t n = 64;
  std::ostringstream maps, points;
  maps << "dataset,arm,panel,x_min,x_max,y_min,y_max,row";
  for (int64_t i = 0; i < n; ++i) maps << ",v" << i;
  maps << "\n";
  points << "dataset,x,y\n";
  bool any = false;
  auto write_map = [&](const std::string& d, const std::string& arm, const std::string& panel, const DensityMaps& m,
                       const torch::Tensor& values) {
    auto v = values.to(torch::kDouble).contiguous();
    const double* p = v.data_ptr<double>();
    for (int64_t row = 0; row < n; ++row) {
      maps << d << "," << arm << "," << panel;
      for (double e : m.extent) maps << "," << fmt(e, 6);
      maps << "," << row;
      for (int64_t i = 0; i < n; ++i) maps << "," << fmt(p[row * n + i], 4);
      maps << "\n";
    }
  };
  for (const auto& d : r.datasets) {
    // The maps need the runs' checkpoints: a data set whose first-seed runs are not all here keeps the
    // maps the previous report drew, where it has them.
    bool all_here = true;
    for (const auto& a : r.study.density_arms) {
      auto it = r.groups.find(Key{a, d, r.study.figure_n_train, r.default_lr.at(a)});
      if (it != r.groups.end() && !it->second.front()->from_folder) all_here = false;
    }
    if (!all_here && r.recorded.density_lines.count(d)) {
      for (const auto& line : r.recorded.density_lines.at(d)) maps << line << "\n";
      if (auto p = r.recorded.point_lines.find(d); p != r.recorded.point_lines.end())
        for (const auto& line : p->second) points << line << "\n";
      any = true;
      continue;
    }
    bool first = true;
    for (size_t i = 0; i < r.study.density_arms.size(); ++i) {
      const auto& a = r.study.density_arms[i];
      auto it = r.groups.find(Key{a, d, r.study.figure_n_train, r.default_lr.at(a)});
      if (it == r.groups.end() || it->second.front()->status() != run_status::completed ||
          !it->second.front()->from_folder)
        continue;
      auto m = density_maps(r.out + "/runs/" + it->second.front()->run->name, n);
      if (first) {
        if (m.truth.defined()) write_map(d, "", "truth", m, m.truth);
        auto tp = m.train_points.contiguous();
        for (int64_t k = 0; k < tp.size(0); ++k)
          points << d << "," << fmt(tp[k][0].item<double>(), 6) << "," << fmt(tp[k][1].item<double>(), 6) << "\n";
        first = false;
      }
      write_map(d, a, "flow", m, m.flow);
      if (i + 1 == r.study.density_arms.size() && m.proxy.defined()) write_map(d, a, "energy", m, m.proxy);
      any = true;
    }
  }
  if (!any) return false;
  write_file_atomically(r.out + "/densities.csv", maps.str());
  write_file_atomically(r.out + "/train_points.csv", points.str());
  return true;
}

}  // namespace

std::set<std::string> recorded_runs(const StudyConfig& study, const std::string& out) {
  const auto rec = Recorded::read(out);
  std::set<std::string> names;
  for (const auto& run : plan_study(study)) {
    auto it = rec.records.find(run_key(run));
    if (it != rec.records.end() && run_status::finished(it->second.status)) names.insert(run.name);
  }
  return names;
}

std::vector<std::string> report_study(const StudyConfig& study, const std::string& out) {
  fs::create_directories(out);
  Report r{study, out, plan_study(study), {}, {}, {}, {}, {}, Recorded::read(out)};
  for (const auto& run : r.runs) {
    const auto key = run_key(run);
    if (auto res = read_result(run, out + "/runs/" + run.name)) {
      r.results.push_back(*res);
    } else if (auto it = r.recorded.records.find(key); it != r.recorded.records.end()) {
      r.results.push_back(RunResult{&run, it->second, false});
    } else {
      continue;
    }
    r.recorded.records.erase(key);
  }
  for (const auto& x : r.results) {
    Key k{x.run->arm, x.run->dataset, x.run->n_train, x.run->lr};
    if (!r.groups.count(k)) r.order.push_back(k);
    r.groups[k].push_back(&x);
  }
  for (const auto& a : study.arms) r.default_lr[a.name] = arm_lr(study, a.name);
  for (const auto& run : r.runs)
    if (std::find(r.datasets.begin(), r.datasets.end(), run.dataset) == r.datasets.end()) r.datasets.push_back(run.dataset);

  std::vector<std::string> written = {"results.csv", "results.md", "curves.csv"};
  write_results_csv(r);
  write_curves_csv(r);
  write_results_md(r);
  if (write_density_maps(r)) {
    written.push_back("densities.csv");
    written.push_back("train_points.csv");
  }
  return written;
}

}  // namespace jeffreys::app
