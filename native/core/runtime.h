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

/// Caps glibc's malloc arenas (it otherwise makes one per thread that allocates: libuv workers, OpenMP threads),
/// whose fragmentation doubled the resident memory of long training runs (measured: 2.6 GiB vs 1.3 GiB after 60
/// steps). Does nothing for n <= 0 or off glibc. Returns whether the cap was applied.
bool limit_malloc_arenas(int n);

/// Fixes glibc's mmap threshold at `bytes` (allocations at least that large are mapped and unmapped on their own).
/// glibc otherwise raises the threshold each time a large block is freed (up to 32 MiB), after which every
/// tensor lands in the heap and the peak of each step stays resident (measured on a tiny model's RL run: ~265 MB
/// flat with 128 KiB, 500-650 MB without, at the cost of up to 2x slower small-tensor work). Does nothing for
/// bytes <= 0 or off glibc. Returns whether the setting was applied.
bool fix_mmap_threshold(long bytes);

/// Returns freed heap memory to the system (glibc's malloc_trim(0)): without it, the arenas keep the peak of
/// every RL step's transient tensors resident. Returns whether memory was released (false off glibc).
bool trim_native_memory();

/// Sets libtorch's intra-op thread count (n >= 1) for this thread and every later torch job.
void set_num_threads(int n);

/// Applies the configured thread count to the calling thread. OpenMP keeps the count per thread, so a worker
/// thread of the libuv pool would otherwise use every core whatever was set on the main thread.
void apply_num_threads_to_this_thread();

struct MatmulResult {
  int64_t size = 0;
  int reps = 0;
  double seconds = 0;  // wall time of all reps, after one warm-up product
  double gflops = 0;
  double checksum = 0;  // sum of the last product, so the work cannot be skipped
  std::string device;
  int threads = 0;  // intra-op threads the job ran with
};

/// Times `reps` fp32 products of two random size x size matrices on `device` ("cpu", "cuda", "cuda:1"...).
MatmulResult matmul_benchmark(int64_t size, int reps, const std::string& device, uint64_t seed);

}  // namespace rexrag
