// Process-wide libtorch facts and settings (version, threads, devices, BLAS) and a matmul probe.
// Torch-free header so the N-API layer compiles without libtorch's heavy includes.
#pragma once

#include <cstdint>
#include <string>

namespace rexrag {

struct RuntimeInfo {
  std::string torch_version;
  int num_threads = 1;
  bool built_with_cuda = false;
  bool cuda_available = false;
  int cuda_device_count = 0;
  std::string blas_library;  // the BLAS shared object actually mapped into this process
  std::string parallel_info;
};

RuntimeInfo runtime_info();

/// Sets libtorch's intra-op thread count (n >= 1).
void set_num_threads(int n);

struct MatmulResult {
  int64_t size = 0;
  int reps = 0;
  double seconds = 0;  // wall time of all reps, after one warm-up product
  double gflops = 0;
  double checksum = 0;  // sum of the last product, so the work cannot be skipped
  std::string device;
};

/// Times `reps` fp32 products of two random size x size matrices on `device` ("cpu", "cuda", "cuda:1"...).
MatmulResult matmul_benchmark(int64_t size, int reps, const std::string& device, uint64_t seed);

}  // namespace rexrag
