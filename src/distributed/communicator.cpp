#include "jeffreys/distributed/communicator.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include <charconv>
#include <cstdlib>

namespace jeffreys::distributed {
namespace {

int int_variable(const char* name, int fallback, bool required) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    if (required) throw std::invalid_argument(std::string("environment variable ") + name + " is not set (WORLD_SIZE is)");
    return fallback;
  }
  int out = 0;
  const std::string s(v);
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || out < 0)
    throw std::invalid_argument(std::string("environment variable ") + name + "='" + s + "' is not a non-negative integer");
  return out;
}

std::string what_of(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace

LaunchEnvironment LaunchEnvironment::from_environment() {
  LaunchEnvironment env;
  env.world_size = int_variable("WORLD_SIZE", 1, false);
  if (env.world_size < 1) throw std::invalid_argument("environment variable WORLD_SIZE must be >= 1");
  if (env.world_size == 1) return env;
  env.rank = int_variable("RANK", 0, true);
  if (env.rank >= env.world_size)
    throw std::invalid_argument("environment variable RANK=" + std::to_string(env.rank) + " is not below WORLD_SIZE=" +
                                std::to_string(env.world_size));
  env.local_rank = int_variable("LOCAL_RANK", env.rank, false);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') env.master_addr = a;
  env.master_port = int_variable("MASTER_PORT", env.master_port, false);
  if (env.master_port < 1 || env.master_port > 65535)
    throw std::invalid_argument("environment variable MASTER_PORT=" + std::to_string(env.master_port) + " is not a port");
  return env;
}

struct Communicator::Impl {
  int rank = 0, size = 1;
  std::string backend;
  std::chrono::milliseconds timeout{0};
  torch::Device device{torch::kCPU};  ///< where the backend's tensors live (NCCL: this rank's GPU)
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;

  /// Waits for a collective; c10d's failures (a peer closed the connection, a timeout) become one
  /// CommunicationError naming this rank, the operation and the cause.
  void wait(const char* op, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) const {
    try {
      auto work = start();
      work->wait(timeout);
    } catch (const std::exception& e) {
      throw CommunicationError("rank " + std::to_string(rank) + " of " + std::to_string(size) + ": " + op +
                               " failed (another rank died, hung for more than " +
                               std::to_string(timeout.count() / 1000) + " s, or cannot be reached): " + what_of(e));
    }
  }
};

Communicator::Communicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;

std::string Communicator::backend_for(const torch::Device& device) {
#ifdef USE_C10D_NCCL
  if (device.is_cuda()) return "nccl";
#endif
  (void)device;
  return "gloo";
}

torch::Device rank_device(const torch::Device& configured, const LaunchEnvironment& env, int64_t cuda_device_count) {
  if (!configured.is_cuda() || configured.has_index() || env.world_size == 1 || cuda_device_count < 1) return configured;
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank % cuda_device_count));
}

std::shared_ptr<Communicator> Communicator::connect(const LaunchEnvironment& env, const std::string& backend,
                                                    std::chrono::milliseconds timeout, const torch::Device& device) {
  auto impl = std::make_unique<Impl>();
  impl->rank = env.rank;
  impl->size = env.world_size;
  impl->backend = backend;
  impl->timeout = timeout;
  if (backend == "nccl") {
    if (!device.is_cuda()) throw std::invalid_argument("distributed backend 'nccl' needs a CUDA device, not " + device.str());
    impl->device = device;
  }
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = static_cast<std::size_t>(env.world_size);
    so.waitWorkers = true;
    so.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    if (backend == "gloo") {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      // GLOO_SOCKET_IFNAME picks the interface on a multi-node launch, as in PyTorch; one machine talks over loopback.
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (env.master_addr == "127.0.0.1" || env.master_addr == "localhost")
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, o);
#ifdef USE_C10D_NCCL
    } else if (backend == "nccl") {
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      impl->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, o);
#endif
    } else {
      throw std::invalid_argument("distributed backend '" + backend + "' is not in this build (gloo" +
#ifdef USE_C10D_NCCL
                                  std::string(", nccl") +
#else
                                  std::string() +
#endif
                                  ")");
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw CommunicationError("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                             ": cannot join the run's ranks at " + where + ": " + what_of(e));
  }
  return std::shared_ptr<Communicator>(new Communicator(std::move(impl)));
}

int Communicator::rank() const { return impl_->rank; }
int Communicator::size() const { return impl_->size; }
std::string Communicator::backend() const { return impl_->backend; }

void Communicator::all_reduce_sum(torch::Tensor& t) {
  if (impl_->size == 1) return;
  if (t.device() != impl_->device && impl_->backend == "nccl") {
    auto on_device = t.to(impl_->device);
    all_reduce_sum(on_device);
    t.copy_(on_device);
    return;
  }
  impl_->wait("all-reduce", [&] {
    std::vector<at::Tensor> ts{t};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    return impl_->group->allreduce(ts, o);
  });
}

void Communicator::all_reduce_mean(torch::Tensor& t) {
  all_reduce_sum(t);
  if (impl_->size > 1) t.div_(impl_->size);
}

void Communicator::broadcast(torch::Tensor& t, int root) {
  if (impl_->size == 1) return;
  if (t.device() != impl_->device && impl_->backend == "nccl") {
    auto on_device = t.to(impl_->device);
    broadcast(on_device, root);
    t.copy_(on_device);
    return;
  }
  impl_->wait("broadcast", [&] {
    std::vector<at::Tensor> ts{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    return impl_->group->broadcast(ts, o);
  });
}

void Communicator::barrier() {
  if (impl_->size == 1) return;
  // A barrier is an all-reduce of one number: Gloo's own barrier cannot be given a device tensor on NCCL.
  auto t = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat64).device(impl_->device));
  all_reduce_sum(t);
}

}  // namespace jeffreys::distributed
