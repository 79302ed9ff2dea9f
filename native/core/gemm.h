// C = A·Bᵀ in float32 for row-major A (M, K) and B (N, K): the linear layers' forward product. On this
// project's reference machine (2 EPYC cores with AVX-512) Debian's OpenBLAS runs its AVX2 kernels, and this one
// measured 1.4-2.5x faster on the 0.5B shapes and 2.2x at the 8 rows of decoding (README "The engine's
// kernels"). It keeps a 4 x 4 block of (row, output) sums in registers over a 1024-long slice of K, so each
// weight is read once per 4 rows, and splits the work in (64 rows, 256 outputs) tiles over the threads. Each
// output is summed by one thread in a fixed order: results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace rexrag {

/// Whether the environment asks for ATen's kernels only (REXRAG_KERNELS=aten): an A/B switch and an escape hatch.
bool aten_kernels_requested();

/// Whether this CPU runs the kernel (x86-64 with AVX2 and FMA; AVX-512 when present) and it is not switched off.
bool gemm_available();

/// c (M, N) = a (M, K) · b (N, K)ᵀ, all row-major and contiguous. Call only when gemm_available().
void gemm_abt(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K);

}  // namespace rexrag
