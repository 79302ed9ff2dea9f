// C = A·B in float32 with A read through any strides: the linear layers' backward products, g·W for the input's
// gradient and gᵀ·x for the weight's, on one kernel. Debian's OpenBLAS runs its AVX2 kernels on this project's
// AVX-512 machine; this kernel keeps an outer-product block of C in registers (8 rows x 48 columns with AVX-512,
// 6 x 16 with AVX2): per step of K it broadcasts one value of A per row and multiplies it into B's row.
// Both operands are copied into small panels per K slice, so A may be a transposed view at no extra cost.
// Each value of C is summed by one thread in a fixed order: results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace rexrag {

/// Strided read-only view of A (M, K): element (i, k) is at data[i * row_stride + k * col_stride].
struct StridedMatrix {
  const float* data;
  int64_t row_stride, col_stride;
};

/// Whether gemm_ab runs faster than ATen's BLAS on this CPU: gemm_available() and AVX-512. Its AVX2 build measured
/// 0.8-0.9x of OpenBLAS's own AVX2 kernels (on the AVX-512 machine, forced), so there at::mm stays.
bool gemm_ab_beats_blas();

/// c (M, N) = a (M, K) · b (K, N), or c += when `accumulate`; b row-major with row stride ldb, c contiguous.
/// Call only when gemm_available() (gemm.h); see gemm_ab_beats_blas() for when to.
void gemm_ab(StridedMatrix a, const float* b, int64_t ldb, float* c, int64_t M, int64_t N, int64_t K,
             bool accumulate);

}  // namespace rexrag
