#include "jeffreys/experiment/sbi_benchmark.h"


#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "jeffreys/core/atomic_file.h"
#include "jeffreys/core/process_pool.h"
#include "jeffreys/experiment/config.h"
#include "study_files.h"

namespace fs = std::filesystem;

namespace jeffreys::experiment {
namespace {

using detail::fail;

/// A required list: present and non-empty.
template <typename T>
std::vector<T> required_list(const std::string& file, const toml::table& t, const std::string& key) {
  if (t.get(key) == nullptr) fail(file, nullptr, key, "missing (a non-empty array)");
  auto v = detail::read_list<T>(file, t, key, "");
  if (v.empty()) fail(file, t.get(key), key, "must be a non-empty array");
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
  std::vector<Row> rows;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream s(line);
    std::vector<std::string> f;
    std::string x;
    while (std::getline(s, x, ',')) f.push_back(x);
    if (f.size() < 8) continue;
    Row r;
    r.task = f[0];
    r.budget = std::stoll(f[1]);
    r.method = f[2];
    r.sampler = f[3];
    r.seed = std::stoull(f[4]);
    r.observation = std::stoi(f[5]);
    r.c2st = std::stod(f[6]);
    r.train_seconds = std::stod(f[7]);
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

SbiBenchmarkConfig load_sbi_benchmark(const std::string& path) {
  const toml::table root = detail::parse_file(path);
  SbiBenchmarkConfig c;
  c.file = path;
  detail::only(path, root, "",
               {"tasks", "budgets", "more_budgets", "methods", "seeds", "observations_root", "observations", "args",
                "reference"});
  c.tasks = required_list<std::string>(path, root, "tasks");
  c.budgets = required_list<int64_t>(path, root, "budgets");
  c.methods = required_list<std::string>(path, root, "methods");
  c.seeds = required_list<uint64_t>(path, root, "seeds");
  c.observations = detail::read_list<int>(path, root, "observations", "");
  c.args = detail::read_list<std::string>(path, root, "args", "");
  const auto* o = root.get("observations_root");
  if (o == nullptr || !o->is_string()) fail(path, o, "observations_root", "must name the folder holding <task>/obs_<k>/");
  c.observations_root = (fs::path(path).parent_path() / *o->value<std::string>()).lexically_normal().string();
  // sbibm's files elsewhere than beside the repository: the environment says where.
  if (const char* env = std::getenv("JEFFREYS_SBIBM_DIR"); env != nullptr && *env != '\0') c.observations_root = env;
  for (const auto& t : c.tasks)
    if (!fs::exists(c.observations_root + "/" + t))
      fail(path, o, "observations_root", "no folder '" + c.observations_root + "/" + t + "' for task '" + t + "'");
  if (const auto* m = root.get("more_budgets")) {
    if (!m->is_table()) fail(path, m, "more_budgets", "must be a table: task = [budget, ...]");
    for (const auto& [task, node] : *m->as_table()) {
      const std::string name(task.str());
      const std::string key = "more_budgets." + name;
      if (std::find(c.tasks.begin(), c.tasks.end(), name) == c.tasks.end())
        fail(path, &node, key, "names a task that is not in 'tasks'");
      if (!node.is_array()) fail(path, &node, key, "must be a list of budgets");
      for (const auto& v : *node.as_array()) {
        if (!v.is_integer() || *v.value<int64_t>() < 10) fail(path, &v, key, "budgets must be integers >= 10");
        c.more_budgets[name].push_back(*v.value<int64_t>());
      }
    }
  }
  if (const auto* r = root.get("reference")) {
    if (!r->is_table()) fail(path, r, "reference", "must be a table: task = { \"1000\" = c2st, ... }");
    for (const auto& [task, node] : *r->as_table()) {
      const std::string key = "reference." + std::string(task.str());
      if (!node.is_table()) fail(path, &node, key, "must be a table of budget = C2ST");
      for (const auto& [budget, v] : *node.as_table()) {
        if (!v.is_number()) fail(path, &v, key + "." + std::string(budget.str()), "must be a number");
        c.reference[std::string(task.str())][std::stoll(std::string(budget.str()))] =
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

int64_t run_sbi_benchmark(const SbiBenchmarkConfig& c, const std::string& out, const SbiBenchmarkOptions& options) {
  if (options.executable.empty() || !fs::exists(options.executable))
    throw std::invalid_argument("sbi benchmark: the jeffreys executable '" + options.executable + "' does not exist");
  fs::create_directories(out + "/runs");
  fs::create_directories(out + "/logs");
  std::vector<ProcessJob> jobs;
  std::vector<std::string> names;
  int64_t planned = 0, skipped = 0;
  // Seed-major, then small budgets first: a benchmark stopped early has every method for its first seeds.
  for (uint64_t seed : c.seeds)
    for (int64_t budget : c.all_budgets())
      for (const auto& task : c.tasks)
        for (const auto& method : c.methods) {
          if (!has_budget(c, task, budget)) continue;
          ++planned;
          const auto name = run_name(task, budget, method, seed);
          const auto dir = out + "/runs/" + name;
          if (fs::exists(dir + "/c2st.csv")) {
            ++skipped;
            continue;
          }
          fs::remove_all(dir);  // an interrupted run starts again
          std::vector<std::string> args = {options.executable, "sbi", "--task", task, "--budget", std::to_string(budget),
                                           "--method", method, "--seed", std::to_string(seed), "--observations",
                                           c.observations_root + "/" + task, "--out", dir};
          for (int k : c.observations) {
            args.push_back("--observation");
            args.push_back(std::to_string(k));
          }
          args.insert(args.end(), c.args.begin(), c.args.end());
          jobs.push_back({args, out + "/logs/" + name + ".log"});
          names.push_back(name);
        }
  if (options.progress)
    *options.progress << "sbi benchmark: " << planned << " runs planned, " << skipped << " already finished, "
                      << jobs.size() << " to run with " << options.jobs << " at a time\n"
                      << std::flush;
  int64_t failed = 0, done = 0;
  run_processes(jobs, options.jobs, [&](size_t i, int code, double secs) {
    ++done;
    const bool ok = code == 0 && fs::exists(out + "/runs/" + names[i] + "/c2st.csv");
    if (!ok) ++failed;
    if (options.progress)
      *options.progress << "[" << done << "/" << jobs.size() << "] " << names[i] << ": "
                        << (ok ? "done" : "FAILED (exit " + std::to_string(code) + "), see logs/" + names[i] + ".log")
                        << " (" << std::fixed << std::setprecision(0) << secs << " s)\n"
                        << std::defaultfloat << std::flush;
  });
  report_sbi_benchmark(c, out);
  return failed;
}

std::vector<std::string> report_sbi_benchmark(const SbiBenchmarkConfig& c, const std::string& out) {
  fs::create_directories(out);
  std::vector<Row> rows;
  for (uint64_t seed : c.seeds)
    for (int64_t budget : c.all_budgets())
      for (const auto& task : c.tasks)
        for (const auto& method : c.methods) {
          if (!has_budget(c, task, budget)) continue;
          auto r = read_c2st(out + "/runs/" + run_name(task, budget, method, seed) + "/c2st.csv");
          rows.insert(rows.end(), r.begin(), r.end());
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
    for (const auto& [seed, v] : it->second) per_seed.push_back(detail::mean_std(v).mean);
    const auto m = detail::mean_std(per_seed);
    std::ostringstream o;
    // One seed has no spread to show: no "± 0.000" that would read as a measured spread of zero.
    o << std::fixed << std::setprecision(3) << m.mean;
    if (m.n > 1) o << " ± " << m.std;
    o << " (" << m.n << ")";
    return o.str();
  };
  std::ostringstream md;
  md << "# SBI benchmark: mean C2ST (lower is better, 0.5 is perfect)\n\n"
     << "Per cell: mean over seeds of each seed's mean C2ST over the observations, ± the standard deviation "
        "over seeds (none with one seed), (number of seeds). `flow`: posterior samples of the flow; `proxy`: of the energy model, by "
        "sampling-importance-resampling from flow samples. sbibm NPE: the published values. Generated by "
        "`jeffreys sbi-benchmark` from `"
     << c.file << "`.\n\n| task | budget | sbibm NPE |";
  std::vector<std::pair<std::string, std::string>> cols;
  for (const auto& m : c.methods)
    for (const auto& s : {"flow", "proxy"})
      if (samplers.count(s)) {
        bool any = false;
        for (const auto& [k, v] : by)
          if (std::get<2>(k) == m && std::get<3>(k) == s) any = true;
        if (any) cols.push_back({m, s});
      }
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
  write_file_atomically(out + "/results.md", md.str());
  return {"results.csv", "results.md"};
}

}  // namespace jeffreys::experiment
