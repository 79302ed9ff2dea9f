// A c10d process group (libtorch's distributed engine, the one under torch.distributed): TCPStore rendezvous and
// ProcessGroupGloo on CPU (ProcessGroupNCCL when libtorch has it and the caller asks), and the few collectives
// rexrag needs. Reading the launcher's environment and every policy decision are lib/distributed's. Torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace rexrag {

/// A collective failed or timed out (a rank stopped, the network broke): the group cannot be used any more.
struct DistributedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ProcessGroupOptions {
  std::string master_addr;  // host of rank 0's TCPStore
  int64_t master_port = 0;
  int64_t rank = 0;
  int64_t world_size = 1;
  double timeout_seconds = 300;  // rendezvous and every collective
  std::string backend;           // "gloo" or "nccl"
  std::string interface;         // Gloo's network interface (GLOO_SOCKET_IFNAME); empty: from master_addr
  std::string device;            // NCCL: this rank's CUDA device ("cuda:1"); empty: the current one
};

enum class ReduceOp { Sum, Max, Min };

/// Whether this build has c10d with Gloo (the headers of Debian's libgloo-dev were found at build time).
bool process_group_available();
/// Whether this build has ProcessGroupNCCL (a CUDA libtorch built with NCCL).
bool nccl_available();

class ProcessGroup {
 public:
  /// Rendezvous: blocks until every rank has joined, or throws DistributedError after the timeout.
  explicit ProcessGroup(const ProcessGroupOptions& options);
  ~ProcessGroup();

  int64_t rank() const;
  int64_t world_size() const;
  const std::string& backend() const;

  /// In place, over every rank; every rank passes the same number of values.
  void all_reduce(std::vector<double>& values, ReduceOp op);
  /// Every rank's values in rank order; every rank passes the same number of values.
  std::vector<std::vector<double>> all_gather(const std::vector<double>& values);
  /// Every rank's bytes in rank order; the lengths may differ.
  std::vector<std::vector<uint8_t>> all_gather_bytes(const std::vector<uint8_t>& bytes);
  void barrier();
  /// Tensor collectives (in place) on the tensor's own device.
  void all_reduce(at::Tensor& tensor, ReduceOp op);
  void broadcast(at::Tensor& tensor, int64_t root);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rexrag
