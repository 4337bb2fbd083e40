#pragma once
/// The processes of a data-parallel run: `--nproc N` starts N local ranks of the same command with
/// the variables PyTorch's launcher sets; each rank joins the others through them (so torchrun and
/// multi-node launches work the same way).
#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace jeffreys::distributed {
class Communicator;
}

namespace jeffreys::app {

/// Exit code of a rank whose collective failed because another rank died or hung.
constexpr int kCommunicationExitCode = 4;

/// Runs `executable args...` as `nproc` local ranks (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1,
/// MASTER_PORT=a free port) and waits for them. Rank 0 keeps stdout; every rank keeps stderr. When a
/// rank fails, the others are stopped (they also fail on their own within the collectives' timeout),
/// and `err` gets one line naming the rank that failed first and how. Returns 0 when every rank
/// succeeded, else the failed rank's exit code (1 for a signal).
int launch_local_ranks(const std::string& executable, const std::vector<std::string>& args, int nproc,
                       std::ostream& err);

/// A TCP port on the loopback interface that nobody listens on now (the kernel's choice).
int free_local_port();

/// This process's place among the run's ranks, from the environment: null for a single process.
/// `device` chooses the backend (Gloo on CPU, NCCL on CUDA where built in).
std::shared_ptr<distributed::Communicator> join_ranks(const std::string& device, std::chrono::seconds timeout);

}  // namespace jeffreys::app
