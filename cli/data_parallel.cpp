#include "data_parallel.h"

#include "app/runs/ranks.h"
#include "command.h"
#include "jeffreys/distributed/communicator.h"

namespace jeffreys::cli {

namespace {
std::vector<std::string>& invocation_storage() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace

const std::vector<std::string>& invocation() { return invocation_storage(); }
void set_invocation(const std::vector<std::string>& args) { invocation_storage() = args; }

void DataParallelFlags::add_to(CLI::App* c) {
  c->add_option("--nproc", nproc,
                "data parallel: run as N local processes on c10d (Gloo on CPU, NCCL on CUDA); the batch and the flow "
                "samples divide among them. Processes started by torchrun (RANK, WORLD_SIZE, MASTER_ADDR, "
                "MASTER_PORT) join their run the same way")
      ->check(CLI::Range(1, 1024));
  c->add_option("--dist-timeout", timeout_s, "data parallel: seconds a process waits for the others before it fails")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
}

int DataParallelFlags::launch_if_asked(std::ostream& err) const {
  if (nproc <= 1) return -1;
  if (distributed::LaunchEnvironment::from_environment().world_size > 1)
    throw std::invalid_argument("--nproc: this process is already one rank of a launched run (WORLD_SIZE is set)");
  // The same command line once per rank, without --nproc.
  std::vector<std::string> args;
  const auto& all = invocation();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == "--nproc") {
      ++i;
      continue;
    }
    if (all[i].rfind("--nproc=", 0) == 0) continue;
    args.push_back(all[i]);
  }
  return app::launch_local_ranks(this_executable(), args, nproc, err);
}

std::shared_ptr<distributed::Communicator> DataParallelFlags::join(const std::string& device) const {
  return app::join_ranks(device, std::chrono::seconds(timeout_s));
}

}  // namespace jeffreys::cli
