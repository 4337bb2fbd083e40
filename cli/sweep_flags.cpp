#include "sweep_flags.h"

#include "command.h"

namespace jeffreys::cli {

void SweepFlags::add_to(CLI::App* c, const std::string& config_help, const std::string& out_help,
                        const std::string& report_help) {
  c->add_option("--config", config, config_help)->required();
  c->add_option("--out", out_dir, out_help)->required();
  c->add_option("--jobs", jobs, "runs at once, each its own process (default 2)")->check(CLI::Range(1, 256));
  c->add_option("--nproc", nproc,
                "processes per run: each run trains data parallel on N local ranks (jeffreys train/sbi --nproc N)")
      ->check(CLI::Range(1, 256));
  c->add_flag("--report-only", report_only, report_help);
  c->add_option("--executable", executable, "jeffreys executable for each run (default: this one)");
}

app::SweepOptions SweepFlags::options(std::ostream& progress) const {
  app::SweepOptions o;
  o.jobs = jobs;
  o.executable = executable.empty() ? this_executable() : executable;
  o.progress = &progress;
  o.nproc = nproc;
  return o;
}

int SweepFlags::print_written(const std::vector<std::string>& files, std::ostream& out) const {
  for (const auto& f : files) out << "wrote " << out_dir << "/" << f << "\n";
  return 0;
}

int SweepFlags::exit_code(int64_t failed, std::ostream& err) const {
  if (failed == 0) return 0;
  err << "error: " << failed << " runs failed (see " << out_dir << "/logs/)\n";
  return 1;
}

}  // namespace jeffreys::cli
