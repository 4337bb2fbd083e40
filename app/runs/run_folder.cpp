#include "app/runs/run_folder.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/report/table.h"
#include "jeffreys/core/atomic_file.h"

namespace fs = std::filesystem;

namespace jeffreys::app {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double get(const std::map<std::string, double>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? kNaN : it->second;
}

double json_number(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    try {
      return std::stod(j.get<std::string>());
    } catch (const std::exception&) {
      return kNaN;
    }
  }
  return kNaN;
}

nlohmann::json number_or_text(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(std::to_string(v)); }

bool higher_is_better(const std::string& k) { return k == "ess"; }

}  // namespace

bool run_status::finished(const std::string& status) { return status == completed || status == diverged; }

bool run_status::finished_run(const std::string& dir) {
  const auto rec = RunFolder(dir).read_summary();
  return rec && finished(rec->status);
}

double RunRecord::final_value(const std::string& metric) const { return get(final_metrics, metric); }
double RunRecord::best_value(const std::string& metric) const { return get(best, metric); }
double RunRecord::best_step_of(const std::string& metric) const { return get(best_step, metric); }

std::vector<std::string> RunFolder::files() {
  return {"config.toml",          "train_data.csv",        "metrics.csv",            "summary.json",
          "checkpoint.pt",        "plots/densities.png",   "plots/density_main.png", "plots/samples.png",
          "plots/curve_nll.png",  "plots/curve_terms.png", "plots/curve_ess.png"};
}

bool RunFolder::has_config() const { return fs::exists(path("config.toml")); }
bool RunFolder::has_checkpoint() const { return fs::exists(checkpoint_file()); }

Config RunFolder::read_config() const { return load_config(path("config.toml")); }
void RunFolder::write_config(const Config& config) const { write("config.toml", config.to_toml()); }

void RunFolder::write(const std::string& file, const std::string& contents) const {
  write_file_atomically(path(file), contents);
}

void RunFolder::remove_temporary_files() const {
  if (!fs::exists(dir_)) return;
  for (const auto& e : fs::directory_iterator(dir_))
    if (is_temporary_file(e.path().filename().string())) fs::remove(e.path());
}

std::vector<MetricsRow> RunFolder::read_metrics() const {
  const auto t = read_csv_table(path("metrics.csv"));
  std::vector<MetricsRow> rows;
  if (t.header.empty()) return rows;
  // Every row is placed by its step and wall time: a file without them is not a run's metrics.
  const size_t step = t.column("step"), wall = t.column("wall_seconds");
  for (size_t i = 0; i < t.rows.size(); ++i) {
    MetricsRow r;
    for (size_t j = 0; j < t.header.size(); ++j) r[t.header[j]] = csv_field_number(t, i, j);
    for (size_t j : {step, wall})
      if (!std::isfinite(r[t.header[j]]))
        throw std::runtime_error(t.file + ": row " + std::to_string(i + 2) + ": '" + t.header[j] + "' must be a number");
    rows.push_back(std::move(r));
  }
  return rows;
}

void RunFolder::write_metrics(const std::vector<std::string>& cols, const std::vector<MetricsRow>& rows) const {
  std::ostringstream o;
  for (size_t i = 0; i < cols.size(); ++i) o << (i ? "," : "") << cols[i];
  o << "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < cols.size(); ++i) o << (i ? "," : "") << csv_number(get(r, cols[i]));
    o << "\n";
  }
  write("metrics.csv", o.str());
}

void RunFolder::write_summary(const Config& config, const std::vector<std::string>& columns,
                              const std::vector<MetricsRow>& rows, const std::string& status,
                              const std::string& message) const {
  nlohmann::json j;
  j["status"] = status;
  if (!message.empty()) j["message"] = message;
  j["method"] = config.method.name;
  j["data"] = config.data.name == "csv" ? config.data.csv : config.data.name;
  j["steps_planned"] = config.train.steps;
  j["steps_done"] = rows.empty() ? 0 : static_cast<int64_t>(rows.back().at("step"));
  j["wall_seconds"] = rows.empty() ? 0.0 : rows.back().at("wall_seconds");
  nlohmann::json fin = nlohmann::json::object(), best = nlohmann::json::object();
  for (const auto& col : columns) {
    if (col == "step" || col == "wall_seconds") continue;
    double last = kNaN, bv = kNaN;
    int64_t bstep = -1;
    for (const auto& r : rows) {
      auto it = r.find(col);
      if (it == r.end() || std::isnan(it->second)) continue;
      last = it->second;
      const bool better = std::isnan(bv) || (higher_is_better(col) ? it->second > bv : it->second < bv);
      if (better) {
        bv = it->second;
        bstep = static_cast<int64_t>(r.at("step"));
      }
    }
    if (std::isnan(last)) continue;
    fin[col] = number_or_text(last);
    best[col] = {{"value", number_or_text(bv)}, {"step", bstep}};
  }
  j["final"] = fin;
  j["best"] = best;
  write("summary.json", j.dump(2) + "\n");
}

std::optional<RunRecord> RunFolder::read_summary() const {
  std::ifstream in(path("summary.json"));
  if (!in) return std::nullopt;
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!j.is_object()) return std::nullopt;
  RunRecord out;
  out.status = j.value("status", "");
  out.steps_done = j.contains("steps_done") ? json_number(j["steps_done"]) : kNaN;
  out.wall_seconds = j.contains("wall_seconds") ? json_number(j["wall_seconds"]) : kNaN;
  if (j.contains("final") && j["final"].is_object())
    for (const auto& [k, v] : j["final"].items()) out.final_metrics[k] = json_number(v);
  if (j.contains("best") && j["best"].is_object())
    for (const auto& [k, v] : j["best"].items()) {
      out.best[k] = v.contains("value") ? json_number(v["value"]) : kNaN;
      out.best_step[k] = v.contains("step") ? json_number(v["step"]) : kNaN;
    }
  return out;
}

}  // namespace jeffreys::app
