#pragma once
/// The run folder of `jeffreys train`: which files it holds and how each is written (atomically)
/// and read back. Training, evaluation, plotting, sampling and the sweeps that read finished runs
/// all go through this one type.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/config/config.h"

namespace jeffreys::app {

/// One row of metrics.csv: column name -> value (NaN where not computed at that step).
using MetricsRow = std::map<std::string, double>;

/// The status a run folder's summary.json records.
namespace run_status {
inline constexpr const char* running = "running";
inline constexpr const char* completed = "completed";
inline constexpr const char* stopped = "stopped";  ///< RunOptions::stop_after
inline constexpr const char* diverged = "diverged";
/// Completed or diverged: nothing more will come of running it again.
bool finished(const std::string& status);
/// Whether the run folder `dir` holds a finished run (its summary.json says so; a run writes that
/// file as it goes, so its presence alone means nothing).
bool finished_run(const std::string& dir);
}  // namespace run_status

/// What a run's summary.json says: status, progress, and the final and best value of every metric.
struct RunRecord {
  std::string status;
  double steps_done = 0, wall_seconds = 0;
  std::map<std::string, double> final_metrics, best, best_step;
  /// The final value of `metric`, NaN when absent.
  double final_value(const std::string& metric) const;
  double best_value(const std::string& metric) const;
  double best_step_of(const std::string& metric) const;
};

class RunFolder {
 public:
  explicit RunFolder(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }

  /// The files a finished run folder holds (relative paths).
  static std::vector<std::string> files();

  bool has_config() const;
  bool has_checkpoint() const;
  std::string checkpoint_file() const { return path("checkpoint.pt"); }
  std::string plots_dir() const { return path("plots"); }

  /// config.toml, the resolved configuration.
  Config read_config() const;
  void write_config(const Config& config) const;

  std::vector<MetricsRow> read_metrics() const;
  void write_metrics(const std::vector<std::string>& columns, const std::vector<MetricsRow>& rows) const;

  /// summary.json from the metrics rows: status (with `message` when not empty), the run's method,
  /// data and step counts, and for every column its final value and its best value with the step.
  void write_summary(const Config& config, const std::vector<std::string>& columns, const std::vector<MetricsRow>& rows,
                     const std::string& status, const std::string& message) const;
  /// summary.json as written above; nothing when absent or unreadable (a run killed before it wrote one).
  std::optional<RunRecord> read_summary() const;

  /// `file` in the folder, written atomically.
  void write(const std::string& file, const std::string& contents) const;

  /// Removes the temporary files a killed writer left behind.
  void remove_temporary_files() const;

 private:
  std::string dir_;
};

}  // namespace jeffreys::app
