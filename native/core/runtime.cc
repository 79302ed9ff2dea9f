// Implements runtime.h on ATen.
#include "core/runtime.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <atomic>
#include <climits>
#include <chrono>
#include <fstream>

#include "core/errors.h"

namespace rexrag {
namespace {

std::atomic<int> configured_threads{0};  // 0: never set, leave libtorch's default

std::string mapped_blas_library() {
  // libblas.so.3 is a Debian alternative; what matters for speed is the file the loader actually mapped.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("libblas") != std::string::npos || path.find("openblas") != std::string::npos ||
        path.find("libmkl") != std::string::npos) {
      return path;
    }
  }
  return "unknown";
}

}  // namespace

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.torch_version = TORCH_VERSION;
  info.num_threads = at::get_num_threads();
#ifdef REXRAG_WITH_CUDA
  info.built_with_cuda = true;
#endif
  info.cuda_available = at::hasCUDA();
  info.cuda_device_count = info.cuda_available ? static_cast<int>(at::getNumGPUs()) : 0;
  info.blas_library = mapped_blas_library();
  info.parallel_info = at::get_parallel_info();
  return info;
}

bool limit_malloc_arenas(int n) {
#if defined(__GLIBC__)
  return n > 0 && mallopt(M_ARENA_MAX, n) == 1;
#else
  (void)n;
  return false;
#endif
}

bool fix_mmap_threshold(long bytes) {
#if defined(__GLIBC__)
  return bytes > 0 && bytes <= INT_MAX && mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes)) == 1;
#else
  (void)bytes;
  return false;
#endif
}

bool trim_native_memory() {
#if defined(__GLIBC__)
  return malloc_trim(0) == 1;
#else
  return false;
#endif
}

void set_num_threads(int n) {
  require(n >= 1, "numThreads must be at least 1, got " + std::to_string(n));
  configured_threads = n;
  at::set_num_threads(n);
}

void apply_num_threads_to_this_thread() {
  int n = configured_threads.load();
  if (n > 0 && at::get_num_threads() != n) at::set_num_threads(n);
}

MatmulResult matmul_benchmark(int64_t size, int reps, const std::string& device, uint64_t seed) {
  require(size >= 1 && size <= 16384, "size must be in [1, 16384], got " + std::to_string(size));
  require(reps >= 1, "reps must be at least 1, got " + std::to_string(reps));
  at::Device dev(device);  // throws c10::Error for an unknown device string
  auto generator = at::detail::createCPUGenerator(seed);
  auto options = at::TensorOptions().dtype(at::kFloat);
  at::Tensor a = at::randn({size, size}, generator, options).to(dev);  // (N, N)
  at::Tensor b = at::randn({size, size}, generator, options).to(dev);  // (N, N)
  at::Tensor c = at::mm(a, b);                                         // warm-up
  if (dev.is_cuda()) c.cpu();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) c = at::mm(a, b);
  double checksum = c.sum().item<double>();  // also synchronises a CUDA device
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MatmulResult result;
  result.size = size;
  result.reps = reps;
  result.seconds = seconds;
  result.gflops = 2.0 * static_cast<double>(size) * size * size * reps / seconds / 1e9;
  result.checksum = checksum;
  result.device = dev.str();
  result.threads = at::get_num_threads();
  return result;
}

}  // namespace rexrag
