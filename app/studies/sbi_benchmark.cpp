#include "app/studies/sbi_benchmark.h"


#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>
#include <type_traits>

#include "app/config/config.h"
#include "app/config/toml_file.h"
#include "app/report/table.h"
#include "app/config/names.h"
#include "app/sweeps/commands.h"
#include "app/sweeps/path_name.h"
#include "jeffreys/constrained/method_name.h"
#include "app/sweeps/sweep.h"
#include "jeffreys/core/atomic_file.h"

namespace fs = std::filesystem;

namespace jeffreys::app {
namespace {


/// A required list: present and non-empty.
template <typename T>
std::vector<T> required_list(const std::string& file, const toml::table& t, const std::string& key) {
  if (t.get(key) == nullptr) toml_fail(file, nullptr, key, "missing (a non-empty array)");
  auto v = read_toml_list<T>(file, t, key, "");
  if (v.empty()) toml_fail(file, t.get(key), key, "must be a non-empty array");
  return v;
}

std::string run_name(const std::string& task, int64_t budget, const std::string& method, uint64_t seed) {
  return task + "__" + std::to_string(budget) + "__" + method + "__s" + std::to_string(seed);
}

struct Row {
  std::string task, method, sampler;
  int64_t budget = 0;
  uint64_t seed = 0;
  int observation = 0;
  double c2st = 0, train_seconds = 0;
};

std::vector<Row> read_c2st(const std::string& path) {
  const auto t = read_csv_table(path);
  std::vector<Row> rows;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& f = t.rows[i];
    if (f.size() < 8) continue;
    Row r;
    r.task = f[0];
    r.budget = static_cast<int64_t>(csv_field_number(t, i, 1));
    r.method = f[2];
    r.sampler = f[3];
    r.seed = static_cast<uint64_t>(csv_field_number(t, i, 4));
    r.observation = static_cast<int>(csv_field_number(t, i, 5));
    r.c2st = csv_field_number(t, i, 6);
    r.train_seconds = csv_field_number(t, i, 7);
    rows.push_back(r);
  }
  return rows;
}

/// What an earlier report wrote into out/results.csv, by run name. A clone has the committed tables
/// but not the run folders (they are not committed): these rows count as finished runs, and a report
/// keeps them, so that continuing a benchmark from a clone neither reruns nor drops what is recorded.
std::map<std::string, std::vector<Row>> recorded_rows(const std::string& out) {
  std::map<std::string, std::vector<Row>> by_run;
  for (auto& r : read_c2st(out + "/results.csv")) by_run[run_name(r.task, r.budget, r.method, r.seed)].push_back(r);
  return by_run;
}

/// samples_<task>_<budget>.csv: every method's saved posterior samples for the first seed and the
/// first observation that has them (columns method,sampler,observation,theta_1..theta_d); "" when no run has any.
std::string write_pair_samples(const SbiBenchmarkConfig& c, const std::string& out, const std::string& task, int64_t budget) {
  std::vector<int> numbers = c.observations;
  if (numbers.empty())
    for (int k = 1; k <= 10; ++k) numbers.push_back(k);
  std::ostringstream csv;
  bool header = false;
  for (int k : numbers) {
    for (const auto& method : c.methods) {
      const auto path = out + "/runs/" + run_name(task, budget, method, c.seeds.front()) + "/samples_obs_" +
                        std::to_string(k) + ".csv";
      if (!fs::exists(path)) continue;
      const auto t = read_csv_table(path);
      if (!header) {
        csv << "method,sampler,observation";
        for (size_t j = 1; j < t.header.size(); ++j) csv << "," << t.header[j];
        csv << "\n";
        header = true;
      }
      for (const auto& row : t.rows) {
        csv << method << "," << row.at(0) << "," << k;
        for (size_t j = 1; j < row.size(); ++j) csv << "," << row[j];
        csv << "\n";
      }
    }
    if (header) break;  // one observation: the first that has samples
  }
  if (!header) return "";
  const std::string name = "samples_" + task + "_" + std::to_string(budget) + ".csv";
  write_file_atomically(out + "/" + name, csv.str());
  return name;
}

}  // namespace

SbiBenchmarkConfig load_sbi_benchmark(const std::string& path) {
  const toml::table root = parse_toml_file(path);
  SbiBenchmarkConfig c;
  c.file = path;
  only_known_keys(path, root, "",
               {"tasks", "budgets", "more_budgets", "methods", "seeds", "observations_root", "observations", "args",
                "reference", "pair_budgets"});
  c.tasks = required_list<std::string>(path, root, "tasks");
  c.budgets = required_list<int64_t>(path, root, "budgets");
  c.methods = required_list<std::string>(path, root, "methods");
  // Tasks and methods name folders: each must be a known name and one safe path component.
  for (const auto& t : c.tasks)
    if (!is_name(NameKind::task, t)) toml_fail(path, root.get("tasks"), "tasks", "'" + t + "': " + one_of_message(NameKind::task));
  for (const auto& m : c.methods) {
    try {
      constrained::parse_method_name(m);
      require_path_name(m, "method");
    } catch (const std::invalid_argument& e) {
      toml_fail(path, root.get("methods"), "methods", e.what());
    }
  }
  c.seeds = required_list<uint64_t>(path, root, "seeds");
  c.observations = read_toml_list<int>(path, root, "observations", "");
  c.args = read_toml_list<std::string>(path, root, "args", "");
  c.pair_budgets = read_toml_list<int64_t>(path, root, "pair_budgets", "");
  const auto* o = root.get("observations_root");
  if (o == nullptr || !o->is_string()) toml_fail(path, o, "observations_root", "must name the folder holding <task>/obs_<k>/");
  c.observations_root = (fs::path(path).parent_path() / *o->value<std::string>()).lexically_normal().string();
  // sbibm's files elsewhere than in the repository: the environment says where.
  if (const char* env = std::getenv("JEFFREYS_SBIBM_DIR"); env != nullptr && *env != '\0') c.observations_root = env;
  for (const auto& t : c.tasks)
    if (!fs::exists(c.observations_root + "/" + t))
      toml_fail(path, o, "observations_root", "no folder '" + c.observations_root + "/" + t + "' for task '" + t + "'");
  if (const auto* m = root.get("more_budgets")) {
    if (!m->is_table()) toml_fail(path, m, "more_budgets", "must be a table: task = [budget, ...]");
    for (const auto& [task, node] : *m->as_table()) {
      const std::string name(task.str());
      const std::string key = "more_budgets." + name;
      if (std::find(c.tasks.begin(), c.tasks.end(), name) == c.tasks.end())
        toml_fail(path, &node, key, "names a task that is not in 'tasks'");
      if (!node.is_array()) toml_fail(path, &node, key, "must be a list of budgets");
      for (const auto& v : *node.as_array()) {
        if (!v.is_integer() || *v.value<int64_t>() < 10) toml_fail(path, &v, key, "budgets must be integers >= 10");
        c.more_budgets[name].push_back(*v.value<int64_t>());
      }
    }
  }
  if (const auto* r = root.get("reference")) {
    if (!r->is_table()) toml_fail(path, r, "reference", "must be a table: task = { \"1000\" = c2st, ... }");
    for (const auto& [task, node] : *r->as_table()) {
      const std::string key = "reference." + std::string(task.str());
      if (!node.is_table()) toml_fail(path, &node, key, "must be a table of budget = C2ST");
      for (const auto& [budget, v] : *node.as_table()) {
        const std::string budget_key = key + "." + std::string(budget.str());
        if (!v.is_number()) toml_fail(path, &v, budget_key, "must be a number");
        int64_t simulations = 0;
        const auto b = budget.str();
        const auto parsed = std::from_chars(b.data(), b.data() + b.size(), simulations);
        if (parsed.ec != std::errc() || parsed.ptr != b.data() + b.size() || simulations < 1)
          toml_fail(path, &v, budget_key, "the key must be a number of simulations (\"1000\" = 0.725)");
        c.reference[std::string(task.str())][simulations] =
            v.is_integer() ? static_cast<double>(*v.value<int64_t>()) : *v.value<double>();
      }
    }
  }
  return c;
}

std::vector<int64_t> SbiBenchmarkConfig::budgets_for(const std::string& task) const {
  std::set<int64_t> all(budgets.begin(), budgets.end());
  if (auto it = more_budgets.find(task); it != more_budgets.end()) all.insert(it->second.begin(), it->second.end());
  return {all.begin(), all.end()};
}

std::vector<int64_t> SbiBenchmarkConfig::all_budgets() const {
  std::set<int64_t> all(budgets.begin(), budgets.end());
  for (const auto& [task, extra] : more_budgets) all.insert(extra.begin(), extra.end());
  return {all.begin(), all.end()};
}

namespace {
bool has_budget(const SbiBenchmarkConfig& c, const std::string& task, int64_t budget) {
  const auto b = c.budgets_for(task);
  return std::find(b.begin(), b.end(), budget) != b.end();
}
}  // namespace

int64_t run_sbi_benchmark(const SbiBenchmarkConfig& c, const std::string& out, const SbiBenchmarkOptions& options,
                          const SbiBenchmarkSubset& only) {
  const auto all_budgets = c.all_budgets();
  // What `only` names must be in the file: an error naming the file and what it does plan.
  auto require_planned = [&c](const auto& asked, const auto& planned, const std::string& what) {
    auto text = [](const auto& v) {
      if constexpr (std::is_arithmetic_v<std::decay_t<decltype(v)>>) return std::to_string(v);
      else return "'" + std::string(v) + "'";
    };
    for (const auto& v : asked) {
      if (std::find(planned.begin(), planned.end(), v) != planned.end()) continue;
      std::string list;
      for (const auto& p : planned) list += (list.empty() ? "" : ", ") + text(p);
      throw std::invalid_argument(c.file + ": plans no " + what + " " + text(v) + " (its " + what + "s: " + list + ")");
    }
  };
  require_planned(only.tasks, c.tasks, "task");
  require_planned(only.budgets, all_budgets, "budget");
  require_planned(only.methods, c.methods, "method");
  require_planned(only.seeds, c.seeds, "seed");
  auto chosen = [](const auto& subset, const auto& v) {
    return subset.empty() || std::find(subset.begin(), subset.end(), v) != subset.end();
  };
  const Sweep sweep("sbi benchmark", out, options);
  std::vector<SweepRun> plan;
  // Seed-major, then small budgets first: a benchmark stopped early has every method for its first seeds.
  for (uint64_t seed : c.seeds)
    for (int64_t budget : all_budgets)
      for (const auto& task : c.tasks)
        for (const auto& method : c.methods) {
          if (!has_budget(c, task, budget) || !chosen(only.tasks, task) || !chosen(only.budgets, budget) ||
              !chosen(only.methods, method) || !chosen(only.seeds, seed))
            continue;
          const auto name = run_name(task, budget, method, seed);
          plan.push_back({name, sbi_command(task, budget, method, seed, c.observations_root + "/" + task,
                                            c.observations, c.args, sweep.run_dir(name)),
                          nullptr});
        }
  SweepRules rules;
  // A folder without c2st.csv is an interrupted run: removed and run again.
  // ... and one whose rows an earlier report recorded in results.csv (its folder is not in a clone).
  const auto recorded = recorded_rows(out);
  rules.finished = [recorded](const std::string& dir) {
    return fs::exists(dir + "/c2st.csv") || recorded.count(fs::path(dir).filename().string()) > 0;
  };
  rules.restart_interrupted = true;
  rules.judge = [](const std::string& dir, int code) -> RunEnd {
    if (code == 0 && fs::exists(dir + "/c2st.csv")) return {RunEnd::completed, "done"};
    return {RunEnd::failed, ""};
  };
  const auto outcome = sweep.run(plan, rules);
  report_sbi_benchmark(c, out);
  return outcome.failed;
}

std::vector<std::string> report_sbi_benchmark(const SbiBenchmarkConfig& c, const std::string& out) {
  fs::create_directories(out);
  std::vector<Row> rows;
  // The proxy samplers' diagnostics from each finished run's summary.json (SIR's ESS, MALA's acceptance).
  struct Sampling {
    std::string task, method;
    int64_t budget;
    uint64_t seed;
    int observation;
    double proposals, ess, mala_steps, acceptance, step_size;
  };
  std::vector<Sampling> sampling;
  // Rows of runs whose folders are absent come from the previous results.csv and proxy_sampling.csv.
  auto recorded = recorded_rows(out);
  std::map<std::string, std::vector<Sampling>> recorded_sampling;
  {
    const auto t = read_csv_table(out + "/proxy_sampling.csv");
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const auto& f = t.rows[i];
      if (f.size() < 10) continue;
      auto num = [&](size_t col) { return csv_field_number(t, i, col); };
      Sampling s{f[0], f[2], static_cast<int64_t>(num(1)), static_cast<uint64_t>(num(3)), static_cast<int>(num(4)),
                 num(5), num(6), num(7), num(8), num(9)};
      recorded_sampling[run_name(s.task, s.budget, s.method, s.seed)].push_back(s);
    }
  }
  for (uint64_t seed : c.seeds)
    for (int64_t budget : c.all_budgets())
      for (const auto& task : c.tasks)
        for (const auto& method : c.methods) {
          if (!has_budget(c, task, budget)) continue;
          const auto name = run_name(task, budget, method, seed);
          const auto dir = out + "/runs/" + name;
          auto r = read_c2st(dir + "/c2st.csv");
          if (r.empty()) {
            if (auto it = recorded.find(name); it != recorded.end()) {
              rows.insert(rows.end(), it->second.begin(), it->second.end());
              const auto& s = recorded_sampling[name];
              sampling.insert(sampling.end(), s.begin(), s.end());
              recorded.erase(it);
            }
            continue;
          }
          recorded.erase(name);
          rows.insert(rows.end(), r.begin(), r.end());
          if (!fs::exists(dir + "/summary.json")) continue;
          std::ifstream in(dir + "/summary.json");
          const auto sum = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
          if (sum.is_discarded() || !sum.contains("proxy_sampling")) continue;
          const double nan = std::numeric_limits<double>::quiet_NaN();
          for (const auto& d : sum["proxy_sampling"])
            sampling.push_back({task, method, budget, seed, d.value("observation", 0), d.value("proposals", nan),
                                d.value("sir_ess", nan), d.value("mala_steps", 0.0), d.value("mala_acceptance", nan),
                                d.value("mala_step_size", nan)});
        }
  // Recorded runs the configuration no longer plans stay in the file (nothing written is dropped); the
  // tables below show only the configuration's cells.
  for (const auto& [name, r] : recorded) {
    rows.insert(rows.end(), r.begin(), r.end());
    const auto& s = recorded_sampling[name];
    sampling.insert(sampling.end(), s.begin(), s.end());
  }
  std::ostringstream csv;
  csv << "task,budget,method,sampler,seed,observation,c2st,train_seconds\n" << std::setprecision(6);
  for (const auto& r : rows)
    csv << r.task << "," << r.budget << "," << r.method << "," << r.sampler << "," << r.seed << "," << r.observation << ","
        << r.c2st << "," << r.train_seconds << "\n";
  write_file_atomically(out + "/results.csv", csv.str());

  // Per (task, budget, method, sampler): each seed's mean over observations, then mean ± std over seeds.
  using Key = std::tuple<std::string, int64_t, std::string, std::string>;
  std::map<Key, std::map<uint64_t, std::vector<double>>> by;
  std::set<std::string> samplers;
  for (const auto& r : rows) {
    by[{r.task, r.budget, r.method, r.sampler}][r.seed].push_back(r.c2st);
    samplers.insert(r.sampler);
  }
  auto cell = [&](const Key& k) -> std::string {
    auto it = by.find(k);
    if (it == by.end()) return "–";
    std::vector<double> per_seed;
    for (const auto& [seed, v] : it->second) per_seed.push_back(mean_std(v).mean);
    // One seed has no spread to show: no "± 0.000" that would read as a measured spread of zero.
    CellFormat f;
    f.count = true;
    f.spread_of_one = false;
    f.infinity_sign = false;
    return mean_std_cell(mean_std(per_seed), f);
  };
  std::ostringstream md;
  md << "# SBI benchmark: mean C2ST (lower is better, 0.5 is perfect)\n\n"
     << "Per cell: mean over seeds of each seed's mean C2ST over the observations, ± the standard deviation "
        "over seeds (none with one seed), (number of seeds). `flow`: posterior samples of the flow; `proxy`: of the energy model, by "
        "sampling-importance-resampling from flow samples; `proxy-mala` (runs with `--proxy-mala-steps`): a second SIR "
        "draw, each point then moved by Metropolis-adjusted Langevin steps on the energy. sbibm NPE: the published values. Generated by "
        "`jeffreys sbi-benchmark` from `"
     << c.file << "`.\n\n";
  // One table of the given samplers' columns (those some run has), rows task × budget.
  auto table = [&](const std::vector<std::string>& which) {
    std::vector<std::pair<std::string, std::string>> cols;
    for (const auto& m : c.methods)
      for (const auto& s : which)
        if (samplers.count(s)) {
          bool any = false;
          for (const auto& [k, v] : by)
            if (std::get<2>(k) == m && std::get<3>(k) == s) any = true;
          if (any) cols.push_back({m, s});
        }
    md << "| task | budget | sbibm NPE |";
    for (const auto& [m, s] : cols) md << " " << m << " (" << s << ") |";
    md << "\n|---|---|---|";
    for (size_t i = 0; i < cols.size(); ++i) md << "---|";
    md << "\n";
    for (const auto& task : c.tasks)
      for (int64_t budget : c.budgets_for(task)) {
        bool any = false;
        std::ostringstream line;
        line << "| " << task << " | " << budget << " | ";
        auto ref = c.reference.find(task);
        if (ref != c.reference.end() && ref->second.count(budget))
          line << std::fixed << std::setprecision(3) << ref->second.at(budget);
        else
          line << "–";
        line << " |";
        for (const auto& [m, s] : cols) {
          Key k{task, budget, m, s};
          any = any || by.count(k);
          line << " " << cell(k) << " |";
        }
        if (any) md << line.str() << "\n";
      }
  };
  table({"flow", "proxy", "proxy-mala"});
  if (samplers.count("flow-oracle") || samplers.count("proxy-oracle")) {
    md << "\n## Oracle: the best C2ST over training (not sbibm's protocol)\n\n"
          "Each run's epoch with the lowest mean C2ST over the observations, evaluated every `--oracle-every` "
          "epochs against the reference posterior itself with `--oracle-samples` draws (`jeffreys sbi`): a "
          "selection no user without the reference can make, reported only to set beside numbers labelled "
          "\"best C2ST\".\n\n";
    table({"flow-oracle", "proxy-oracle"});
  }
  std::vector<std::string> written = {"results.csv", "results.md"};
  if (!sampling.empty()) {
    std::ostringstream ps;
    ps << "task,budget,method,seed,observation,proposals,sir_ess,mala_steps,mala_acceptance,mala_step_size\n"
       << std::setprecision(6);
    // Per (task, budget, method): SIR's ESS and MALA's acceptance, mean over seeds and observations.
    std::map<std::tuple<std::string, int64_t, std::string>, std::vector<const Sampling*>> cells;
    for (const auto& r : sampling) {
      ps << r.task << "," << r.budget << "," << r.method << "," << r.seed << "," << r.observation << "," << r.proposals
         << "," << r.ess << "," << r.mala_steps << "," << r.acceptance << "," << r.step_size << "\n";
      cells[{r.task, r.budget, r.method}].push_back(&r);
    }
    write_file_atomically(out + "/proxy_sampling.csv", ps.str());
    written.push_back("proxy_sampling.csv");
    md << "\n## The proxy's samplers\n\n"
          "Per run and observation (`proxy_sampling.csv`): the effective sample size (Σw)² / Σw² of SIR's "
          "importance weights exp(−E) / q over the flow's proposals, and the acceptance of the MALA steps after "
          "their step size is adapted. Mean over seeds and observations (min–max).\n\n"
          "| task | budget | method | proposals | SIR ESS | MALA acceptance |\n|---|---|---|---|---|---|\n";
    auto range = [](const std::vector<const Sampling*>& v, double Sampling::*field, int digits) {
      double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
      int n = 0;
      for (const auto* r : v)
        if (std::isfinite(r->*field)) {
          sum += r->*field;
          lo = std::min(lo, r->*field);
          hi = std::max(hi, r->*field);
          ++n;
        }
      if (n == 0) return std::string("–");
      std::ostringstream o;
      o << std::fixed << std::setprecision(digits) << sum / n << " (" << lo << "–" << hi << ")";
      return o.str();
    };
    for (const auto& [key, v] : cells)
      md << "| " << std::get<0>(key) << " | " << std::get<1>(key) << " | " << std::get<2>(key) << " | "
         << static_cast<int64_t>(v.front()->proposals) << " | " << range(v, &Sampling::ess, 0) << " | "
         << range(v, &Sampling::acceptance, 2) << " |\n";
  }
  write_file_atomically(out + "/results.md", md.str());
  for (const auto& task : c.tasks)
    for (int64_t budget : c.pair_budgets)
      if (has_budget(c, task, budget))
        if (auto f = write_pair_samples(c, out, task, budget); !f.empty()) written.push_back(f);
  return written;
}

}  // namespace jeffreys::app
