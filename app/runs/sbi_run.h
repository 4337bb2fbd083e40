#pragma once
/// One simulation-based inference run as a folder: simulate `budget` pairs from a task's prior and
/// simulator, train a posterior estimator with one method, then for each observation draw posterior
/// samples from the flow (and from the proxy by importance resampling) and score them by C2ST
/// against sbibm's reference samples. What `jeffreys sbi` runs.
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "jeffreys/sbi/posterior.h"

namespace jeffreys::distributed {
class Communicator;
}

namespace jeffreys::app {

/// Where sbibm's observations and reference posteriors are (folders <task>/obs_<k>/):
/// $JEFFREYS_SBIBM_DIR when set, else the repository's data/sbibm, else the installed copy
/// (share/jeffreys/sbibm).
std::string sbibm_root();

struct SbiOptions {
  std::string task;
  /// Folder laid out like data/sbibm/<task>/ (obs_1/, obs_2/, ...).
  std::string observations;
  /// Observation numbers to score; empty = every obs_<k> folder found.
  std::vector<int> observation_numbers;
  int64_t budget = 1000;
  uint64_t seed = 0;
  /// Posterior draws per observation and sampler (sbibm: 10,000) and proposals for the proxy's.
  int64_t posterior_samples = 10000;
  int64_t proxy_proposals = 100000;
  /// > 0: also the sampler "proxy-mala", SIR followed by this many Metropolis-adjusted Langevin steps
  /// per draw on the energy (sbi::ProxySampling); 0: SIR alone.
  int64_t proxy_mala_steps = 0;
  /// C2ST folds (sbibm: 5); fewer only for quick checks.
  int64_t c2st_folds = 5;
  /// Oracle (not sbibm's protocol; the slides' "best C2ST"): every `oracle_every` epochs, and at the
  /// last, C2ST of `oracle_samples` draws per observation and sampler against as many reference draws;
  /// the epoch with the lowest mean is reported per sampler as "flow-oracle" / "proxy-oracle". 0: off.
  int64_t oracle_every = 0;
  int64_t oracle_samples = 2000;
  /// LibTorch and OpenBLAS threads of this process (the benchmark runs one process per core).
  int threads = 1;
  /// Where the posterior trains and samples: "cpu", "cuda" (with several ranks, each its own GPU) or
  /// "cuda:N"; simulation and C2ST stay on the CPU.
  std::string device = "cpu";
  sbi::PosteriorOptions posterior;
  /// Data parallel: this process is one rank of the run (null: the only one). Every rank simulates
  /// the same pairs and trains its share; rank 0 alone samples, scores and writes the folder.
  std::shared_ptr<distributed::Communicator> communicator;
};

struct SbiScore {
  int observation = 0;
  std::string sampler;  ///< "flow", "proxy" (SIR) or "proxy-mala"
  double c2st = 0;
  double seconds = 0;  ///< sampling + C2ST
};

struct SbiSummary {
  std::string dir;
  double simulate_seconds = 0, train_seconds = 0;
  sbi::TrainingReport training;
  std::vector<SbiScore> scores;
  /// With the oracle: the epoch each sampler's oracle score comes from.
  std::map<std::string, int64_t> oracle_epochs;
};

/// Runs everything into `dir` (created; must be absent or empty): config.json, training.csv (per
/// epoch), c2st.csv (columns task,budget,method,sampler,seed,observation,c2st,train_seconds),
/// summary.json (with the proxy samplers' ESS and MALA acceptance per observation), plots/pairs_obs_<k>.png (pairwise marginals of the reference, the flow's and
/// the proxy's samples) and samples_obs_<k>.csv (the first 1000 of each sampler's samples); with
/// oracle_every, oracle.csv (epoch,sampler,observation,c2st) and the best epoch's rows in c2st.csv
/// as samplers "flow-oracle" / "proxy-oracle". Bad input (unknown task, missing observation files) fails before the
/// folder is created. c2st.csv is written last, so its presence marks a finished run.
SbiSummary sbi_run(const SbiOptions& options, const std::string& dir, std::ostream* progress = nullptr);

}  // namespace jeffreys::app
