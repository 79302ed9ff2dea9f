// Implements gemm_bf16.h. The block is compiled through a function attribute and picked at run time, so the addon
// still loads on CPUs without AVX512-BF16 (there gemm_bf16_available() is false and ATen runs).
#include "core/gemm_bf16.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "core/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__) && __GNUC__ >= 10
#include <immintrin.h>
#define REXRAG_GEMM_BF16_KERNEL 1
#endif

namespace rexrag {

#ifdef REXRAG_GEMM_BF16_KERNEL
namespace {

constexpr int kRows = 4, kOutputs = 6;  // as gemm.cc's AVX-512 block: 24 accumulators
constexpr int64_t kRowTile = 64, kOutputTile = 240;

/// Where one register block reads and writes: `rows` rows of a, `outputs` rows of b (K values each, in pairs
/// summed into float32 lanes), into c (row stride ldc).
struct Block {
  const uint16_t* a;
  const uint16_t* b;
  float* c;
  int64_t K, ldc;
};

#define REXRAG_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

template <int Rows, int Outputs>
REXRAG_BF16_TARGET void block_bf16(const Block& p) {
  __m512 acc[Rows][Outputs];
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < Outputs; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= p.K; k += 32) {
    __m512bh av[Rows];
#pragma GCC unroll 8
    for (int i = 0; i < Rows; ++i) av[i] = (__m512bh)_mm512_loadu_si512(p.a + i * p.K + k);
#pragma GCC unroll 8
    for (int j = 0; j < Outputs; ++j) {
      const __m512bh bv = (__m512bh)_mm512_loadu_si512(p.b + j * p.K + k);
#pragma GCC unroll 8
      for (int i = 0; i < Rows; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av[i], bv);
    }
  }
  if (k < p.K) {  // the tail's missing pairs load as zeros and add nothing
    const __mmask32 in = (__mmask32(1) << (p.K - k)) - 1;
    __m512bh av[Rows];
#pragma GCC unroll 8
    for (int i = 0; i < Rows; ++i) av[i] = (__m512bh)_mm512_maskz_loadu_epi16(in, p.a + i * p.K + k);
#pragma GCC unroll 8
    for (int j = 0; j < Outputs; ++j) {
      const __m512bh bv = (__m512bh)_mm512_maskz_loadu_epi16(in, p.b + j * p.K + k);
#pragma GCC unroll 8
      for (int i = 0; i < Rows; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av[i], bv);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < Outputs; ++j) p.c[i * p.ldc + j] = _mm512_reduce_add_ps(acc[i][j]);
}

using BlockFn = void (*)(const Block&);

template <int Outputs>
BlockFn pick_for_outputs(int rows) {
  switch (rows) {
    case 4: return block_bf16<4, Outputs>;
    case 3: return block_bf16<3, Outputs>;
    case 2: return block_bf16<2, Outputs>;
    default: return block_bf16<1, Outputs>;
  }
}

BlockFn pick(int rows, int outputs) {
  switch (outputs) {
    case 6: return pick_for_outputs<6>(rows);
    case 5: return pick_for_outputs<5>(rows);
    case 4: return pick_for_outputs<4>(rows);
    case 3: return pick_for_outputs<3>(rows);
    case 2: return pick_for_outputs<2>(rows);
    default: return pick_for_outputs<1>(rows);
  }
}

}  // namespace

bool gemm_bf16_available() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512bf16") && !aten_kernels_requested();
  return supported;
}

void gemm_bf16_abt(const uint16_t* a, const uint16_t* b, float* c, int64_t M, int64_t N, int64_t K) {
  const int64_t row_tiles = (M + kRowTile - 1) / kRowTile, output_tiles = (N + kOutputTile - 1) / kOutputTile;
  const int64_t tasks = row_tiles * output_tiles;
  // As gemm.cc: small products stay on the calling thread unless b alone is large (256 Ki bfloat16 values).
  const bool small = M * N * K < (int64_t{1} << 20) && N * K < (int64_t{1} << 18);
  at::parallel_for(0, tasks, small ? tasks : 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t m0 = (t / output_tiles) * kRowTile, n0 = (t % output_tiles) * kOutputTile;
      const int64_t m1 = std::min(M, m0 + kRowTile), n1 = std::min(N, n0 + kOutputTile);
      for (int64_t n = n0; n < n1; n += kOutputs) {
        const int outputs = static_cast<int>(std::min<int64_t>(kOutputs, n1 - n));
        for (int64_t m = m0; m < m1; m += kRows) {
          const int rows = static_cast<int>(std::min<int64_t>(kRows, m1 - m));
          pick(rows, outputs)({a + m * K, b + n * K, c + m * N + n, K, N});
        }
      }
    }
  });
}

#else

bool gemm_bf16_available() { return false; }

void gemm_bf16_abt(const uint16_t*, const uint16_t*, float*, int64_t, int64_t, int64_t) {}

#endif

}  // namespace rexrag
