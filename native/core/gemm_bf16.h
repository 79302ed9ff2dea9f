// C = A·Bᵀ for bfloat16 A and B with float32 sums, on AVX512-BF16's pair dot product (vdpbf16ps: 32 bfloat16
// products per instruction, each exact in float32). The bfloat16 generation copy's projections and LM head run
// here: at the few rows of decoding they read every weight once per step, and oneDNN's bfloat16 kernels in
// Debian's libtorch measured far from the memory bandwidth (135 ms a step at Qwen2.5-0.5B's shape, batch 8,
// against about 20 ms to read its 0.99 GB of weights). Same blocking as gemm.h (4 rows x 6 outputs in registers,
// 64-row x 240-output tiles over the threads); each output is summed by one thread in a fixed order.
#pragma once

#include <cstdint>

namespace rexrag {

/// Whether this CPU has AVX512-BF16 and the kernels are not switched off (REXRAG_KERNELS=aten).
bool gemm_bf16_available();

/// c (M, N) = a (M, K) · b (N, K)ᵀ in float32, a and b bfloat16 bit patterns, all row-major and contiguous.
/// Call only when gemm_bf16_available().
void gemm_bf16_abt(const uint16_t* a, const uint16_t* b, float* c, int64_t M, int64_t N, int64_t K);

}  // namespace rexrag
