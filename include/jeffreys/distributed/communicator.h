#pragma once
/// The processes of one data-parallel run and the few collectives the trainer needs between them,
/// on LibTorch's own distributed engine c10d: Gloo on CPU, NCCL on CUDA where the build has it.
/// c10d's headers stay in the source file: including this costs nothing extra.
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace jeffreys::distributed {

/// Where a rank finds the others, in the variables PyTorch's launcher (torchrun) sets.
struct LaunchEnvironment {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; one process when WORLD_SIZE is unset.
  /// Throws std::invalid_argument naming a variable that is malformed or missing beside WORLD_SIZE.
  static LaunchEnvironment from_environment();
};

/// The device a rank computes on. A bare "cuda" with several ranks becomes cuda:(local_rank mod
/// device_count), so that each GPU of a node gets its own rank (as torchrun users set it by hand);
/// an explicit index, the CPU, or a single process keep `configured` as it is.
torch::Device rank_device(const torch::Device& configured, const LaunchEnvironment& env, int64_t cuda_device_count);

/// A collective that failed: another rank died, hung past the timeout, or could not be reached.
class CommunicationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Communicator {
 public:
  /// Connects to the other ranks (rank 0 hosts the TCPStore at master_addr:master_port). `backend`:
  /// "gloo" or "nccl". Every collective that waits longer than `timeout` fails with CommunicationError.
  /// `device`: the rank's device (rank_device); NCCL reduces on it, and tensors elsewhere (the term
  /// estimates are float64 on the CPU) are copied there and back.
  static std::shared_ptr<Communicator> connect(const LaunchEnvironment& env, const std::string& backend,
                                               std::chrono::milliseconds timeout,
                                               const torch::Device& device = torch::kCPU);
  /// "nccl" for a CUDA device when this LibTorch has NCCL, else "gloo".
  static std::string backend_for(const torch::Device& device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int size() const;
  std::string backend() const;
  /// In place: the sum over ranks.
  void all_reduce_sum(torch::Tensor& t);
  /// In place: the mean over ranks.
  void all_reduce_mean(torch::Tensor& t);
  /// In place: `root`'s values on every rank.
  void broadcast(torch::Tensor& t, int root = 0);
  void barrier();

 private:
  struct Impl;
  explicit Communicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

using CommunicatorPtr = std::shared_ptr<Communicator>;

}  // namespace jeffreys::distributed
