// Implements process_group.h on c10d. Built with c10d only when Gloo's headers were found (REXRAG_WITH_C10D, set
// by CMakeLists.txt / binding.gyp); otherwise every constructor call throws an error that says how to get it.
#include "core/process_group.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "core/errors.h"

#if defined(REXRAG_WITH_C10D)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(REXRAG_WITH_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace rexrag {

bool process_group_available() {
#if defined(REXRAG_WITH_C10D)
  return true;
#else
  return false;
#endif
}

bool nccl_available() {
#if defined(REXRAG_WITH_C10D) && defined(REXRAG_WITH_NCCL)
  return true;
#else
  return false;
#endif
}

#if defined(REXRAG_WITH_C10D)

namespace {

c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return c10d::ReduceOp::SUM;
    case ReduceOp::Max: return c10d::ReduceOp::MAX;
    case ReduceOp::Min: return c10d::ReduceOp::MIN;
  }
  return c10d::ReduceOp::SUM;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

/// Gloo's transport device: the named interface, the loopback address for a loopback master, else the address
/// this machine's hostname resolves to (torch.distributed's default).
std::shared_ptr<::gloo::transport::Device> gloo_device(const ProcessGroupOptions& options) {
  if (!options.interface.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(options.interface);
  if (is_loopback(options.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

struct ProcessGroup::State {
  ProcessGroupOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  at::Device device = at::kCPU;  // where the small collectives' tensors live: NCCL reduces CUDA tensors only
  std::string failure;  // non-empty once a collective failed: the group is unusable from then on

  /// Runs one collective and waits for it; any failure becomes a DistributedError naming the rank and the call.
  template <typename Start>
  void run(const char* what, Start start) {
    if (!failure.empty()) throw DistributedError("the process group already failed: " + failure);
    try {
      c10::intrusive_ptr<c10d::Work> work = start();
      work->wait();
    } catch (const c10::Error& error) {
      fail(what, error.what_without_backtrace());
    } catch (const std::exception& error) {
      fail(what, error.what());
    }
  }

  [[noreturn]] void fail(const std::string& what, const std::string& message,
                         const std::string& hint = "another rank probably stopped, or the network between ranks failed") {
    failure = "rank " + std::to_string(options.rank) + " of " + std::to_string(options.world_size) + ": " + what +
              " failed: " + message + " (" + hint + ")";
    throw DistributedError(failure);
  }
};

ProcessGroup::ProcessGroup(const ProcessGroupOptions& options) : state_(std::make_unique<State>()) {
  require(options.world_size >= 1, "worldSize must be >= 1");
  require(options.rank >= 0 && options.rank < options.world_size,
          "rank " + std::to_string(options.rank) + " is outside [0, worldSize " + std::to_string(options.world_size) + ")");
  require(options.master_port >= 1 && options.master_port <= 65535, "masterPort must be in [1, 65535]");
  require(options.timeout_seconds > 0, "timeoutSeconds must be > 0");
  require(options.backend == "gloo" || options.backend == "nccl", "backend must be \"gloo\" or \"nccl\"");
  require(options.backend != "nccl" || nccl_available(),
          "backend \"nccl\" needs a CUDA libtorch built with NCCL; this build has only Gloo (use backend \"gloo\")");
  state_->options = options;
  if (options.backend == "nccl") state_->device = at::Device(options.device.empty() ? "cuda" : options.device);
  const std::string rendezvous = "rendezvous at " + options.master_addr + ":" + std::to_string(options.master_port);
  const std::string rendezvous_hint =
      "every one of the " + std::to_string(options.world_size) + " ranks must start within " +
      std::to_string(static_cast<int64_t>(options.timeout_seconds)) +
      " s with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE, and rank 0 must be able to listen on that port";
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000));
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(options.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    state_->store = c10::make_intrusive<c10d::PrefixStore>("rexrag/" + options.backend, tcp);
#if defined(REXRAG_WITH_NCCL)
    if (options.backend == "nccl") {
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = timeout;
      state_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(state_->store, options.rank, options.world_size,
                                                                   nccl_options);
    }
#endif
    if (!state_->group) {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
      gloo_options->devices.push_back(gloo_device(options));
      gloo_options->threads = 2;
      state_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(state_->store, options.rank, options.world_size,
                                                                  gloo_options);
    }
  } catch (const c10::Error& error) {
    state_->fail(rendezvous, error.what_without_backtrace(), rendezvous_hint);
  } catch (const std::exception& error) {
    state_->fail(rendezvous, error.what(), rendezvous_hint);
  }
}

ProcessGroup::~ProcessGroup() = default;

int64_t ProcessGroup::rank() const { return state_->options.rank; }
int64_t ProcessGroup::world_size() const { return state_->options.world_size; }
const std::string& ProcessGroup::backend() const { return state_->options.backend; }

void ProcessGroup::all_reduce(at::Tensor& tensor, ReduceOp op) {
  std::vector<at::Tensor> tensors{tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = to_c10d(op);
  state_->run("all_reduce", [&] { return state_->group->allreduce(tensors, options); });
}

void ProcessGroup::broadcast(at::Tensor& tensor, int64_t root) {
  // Gloo has no bfloat16 kernels; a broadcast only copies bits, so send them as int16.
  std::vector<at::Tensor> tensors{tensor.scalar_type() == at::kBFloat16 ? tensor.view(at::kShort) : tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  state_->run("broadcast", [&] { return state_->group->broadcast(tensors, options); });
}

void ProcessGroup::all_reduce(std::vector<double>& values, ReduceOp op) {
  if (values.empty()) return barrier();
  at::Tensor tensor = at::tensor(values, at::kDouble).to(state_->device);
  all_reduce(tensor, op);
  tensor = tensor.cpu();
  std::copy(tensor.data_ptr<double>(), tensor.data_ptr<double>() + values.size(), values.begin());
}

std::vector<std::vector<double>> ProcessGroup::all_gather(const std::vector<double>& values) {
  const auto n = static_cast<int64_t>(values.size());
  std::vector<double> sizes(world_size(), 0);
  sizes[rank()] = static_cast<double>(n);
  all_reduce(sizes, ReduceOp::Sum);
  for (int64_t r = 0; r < world_size(); ++r) {
    require(sizes[r] == n, "all_gather: rank " + std::to_string(r) + " gave " + std::to_string(sizes[r]) +
                               " values but this rank gave " + std::to_string(n) + " (every rank gives as many)");
  }
  const auto on_device = at::TensorOptions().dtype(at::kDouble).device(state_->device);
  std::vector<at::Tensor> input{at::tensor(values, at::kDouble).to(state_->device)};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int64_t r = 0; r < world_size(); ++r) output[0].push_back(at::empty({n}, on_device));
  if (n > 0) state_->run("all_gather", [&] { return state_->group->allgather(output, input); });
  std::vector<std::vector<double>> out;
  for (const at::Tensor& gathered : output[0]) {
    at::Tensor part = gathered.cpu();
    out.emplace_back(part.data_ptr<double>(), part.data_ptr<double>() + n);
  }
  return out;
}

std::vector<std::vector<uint8_t>> ProcessGroup::all_gather_bytes(const std::vector<uint8_t>& bytes) {
  std::vector<double> sizes(world_size(), 0);
  sizes[rank()] = static_cast<double>(bytes.size());
  all_reduce(sizes, ReduceOp::Sum);
  const auto width = static_cast<int64_t>(*std::max_element(sizes.begin(), sizes.end()));
  at::Tensor padded = at::zeros({width}, at::kByte);
  std::copy(bytes.begin(), bytes.end(), padded.data_ptr<uint8_t>());
  std::vector<at::Tensor> input{padded.to(state_->device)};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int64_t r = 0; r < world_size(); ++r) {
    output[0].push_back(at::empty({width}, at::TensorOptions().dtype(at::kByte).device(state_->device)));
  }
  if (width > 0) state_->run("all_gather", [&] { return state_->group->allgather(output, input); });
  std::vector<std::vector<uint8_t>> out;
  for (int64_t r = 0; r < world_size(); ++r) {
    at::Tensor part = output[0][r].cpu();
    const uint8_t* data = part.data_ptr<uint8_t>();
    out.emplace_back(data, data + static_cast<int64_t>(sizes[r]));
  }
  return out;
}

void ProcessGroup::barrier() {
  state_->run("barrier", [&] { return state_->group->barrier(); });
}

#else  // built without c10d

struct ProcessGroup::State {};

ProcessGroup::ProcessGroup(const ProcessGroupOptions&) {
  throw InvalidArgument(
      "this rexrag addon was built without c10d/Gloo, so it cannot train on several processes: install the Gloo "
      "headers (Debian: apt-get install -y libgloo-dev) and rebuild (npm run bootstrap, or npx cmake-js rebuild)");
}
ProcessGroup::~ProcessGroup() = default;
int64_t ProcessGroup::rank() const { return 0; }
int64_t ProcessGroup::world_size() const { return 1; }
const std::string& ProcessGroup::backend() const {
  static const std::string none;
  return none;
}
void ProcessGroup::all_reduce(std::vector<double>&, ReduceOp) {}
std::vector<std::vector<double>> ProcessGroup::all_gather(const std::vector<double>& values) { return {values}; }
std::vector<std::vector<uint8_t>> ProcessGroup::all_gather_bytes(const std::vector<uint8_t>& bytes) { return {bytes}; }
void ProcessGroup::barrier() {}
void ProcessGroup::all_reduce(at::Tensor&, ReduceOp) {}
void ProcessGroup::broadcast(at::Tensor&, int64_t) {}

#endif

}  // namespace rexrag
