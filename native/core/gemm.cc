// Implements gemm.h. Both instruction-set builds of the block are compiled through function attributes and
// picked at run time, so the addon still loads on CPUs without them (and elsewhere gemm_available() is false).
#include "core/gemm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define REXRAG_GEMM_KERNEL 1
#endif

namespace rexrag {

bool aten_kernels_requested() {
  static const bool requested = [] {  // read once: the choice holds for the life of the process
    const char* choice = std::getenv("REXRAG_KERNELS");
    return choice != nullptr && std::strcmp(choice, "aten") == 0;
  }();
  return requested;
}

#ifdef REXRAG_GEMM_KERNEL
namespace {

// Register blocks: 4 rows x 6 outputs with AVX-512 (24 accumulators of its 32 registers; measured 1.1-1.3x
// over 4 x 4, which spends a load on every second multiply-add), 2 x 4 with AVX2's 16.
constexpr int kRowsAvx512 = 4, kOutputsAvx512 = 6;
constexpr int kRowsAvx2 = 2, kOutputsAvx2 = 4;
constexpr int64_t kRowTile = 64;      // rows of a per task: 64 x 1024 floats stay in L2
constexpr int64_t kOutputTile = 240;  // outputs per task: whole blocks of 6 (and of 4)
constexpr int64_t kDepth = 1024;      // K slice: a block's 4 rows of b (16 KiB) stay in L1

/// Where one register block reads and writes: `rows` rows of a from `a` (stride lda), `outputs` rows of b
/// from `b` (stride ldb), `depth` products each, into c (stride ldc), added to c when `accumulate`.
struct Block {
  const float* a;
  const float* b;
  float* c;
  int64_t lda, ldb, ldc, depth;
  bool accumulate;
};

/// The sums' epilogue: the vector tail of K in scalar order, then store or add.
inline void finish(const Block& p, int i, int j, int64_t k, float sum) {
  for (int64_t t = k; t < p.depth; ++t) sum += p.a[i * p.lda + t] * p.b[j * p.ldb + t];
  float& out = p.c[i * p.ldc + j];
  out = p.accumulate ? out + sum : sum;
}

/// The sums of four vectors at once, (Σa0, Σa1, Σa2, Σa3): a transposing add tree, about a quarter of the
/// instructions of four separate reductions, which matters when K is short (the lab's 128).
__attribute__((target("avx512f"))) inline __m128 sum4_avx512(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  // Per 128-bit lane: (a0 a1 a0 a1) and (a2 a3 a2 a3) pair sums, then (a0 a1 a2 a3).
  const __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  const __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  const __m512d d01 = _mm512_castps_pd(s01), d23 = _mm512_castps_pd(s23);
  const __m512 lanes = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(d01, d23)),
                                     _mm512_castpd_ps(_mm512_unpackhi_pd(d01, d23)));
  const __m256 half = _mm256_add_ps(_mm512_castps512_ps256(lanes),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lanes), 1)));
  return _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
}

template <int Rows, int Outputs>
__attribute__((target("avx512f"))) void block_avx512(const Block& p) {
  __m512 acc[Rows][Outputs];
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < Outputs; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= p.depth; k += 16) {
    __m512 av[Rows];
#pragma GCC unroll 8
    for (int i = 0; i < Rows; ++i) av[i] = _mm512_loadu_ps(p.a + i * p.lda + k);
#pragma GCC unroll 8
    for (int j = 0; j < Outputs; ++j) {
      const __m512 bv = _mm512_loadu_ps(p.b + j * p.ldb + k);
#pragma GCC unroll 8
      for (int i = 0; i < Rows; ++i) acc[i][j] = _mm512_fmadd_ps(av[i], bv, acc[i][j]);
    }
  }
  for (int i = 0; i < Rows; ++i) {
    int j = 0;
    for (; j + 4 <= Outputs; j += 4) {
      float sums[4];
      _mm_storeu_ps(sums, sum4_avx512(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]));
      for (int o = 0; o < 4; ++o) finish(p, i, j + o, k, sums[o]);
    }
    for (; j < Outputs; ++j) finish(p, i, j, k, _mm512_reduce_add_ps(acc[i][j]));
  }
}

__attribute__((target("avx2,fma"))) inline float sum_avx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

template <int Rows, int Outputs>
__attribute__((target("avx2,fma"))) void block_avx2(const Block& p) {
  __m256 acc[Rows][Outputs];
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < Outputs; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= p.depth; k += 8) {
    __m256 av[Rows];
#pragma GCC unroll 8
    for (int i = 0; i < Rows; ++i) av[i] = _mm256_loadu_ps(p.a + i * p.lda + k);
#pragma GCC unroll 8
    for (int j = 0; j < Outputs; ++j) {
      const __m256 bv = _mm256_loadu_ps(p.b + j * p.ldb + k);
#pragma GCC unroll 8
      for (int i = 0; i < Rows; ++i) acc[i][j] = _mm256_fmadd_ps(av[i], bv, acc[i][j]);
    }
  }
  for (int i = 0; i < Rows; ++i)
    for (int j = 0; j < Outputs; ++j) finish(p, i, j, k, sum_avx2(acc[i][j]));
}

bool has_avx512() {
  static const bool supported = __builtin_cpu_supports("avx512f");
  return supported;
}

using BlockFn = void (*)(const Block&);

/// The block for `rows` x `outputs` (each from 1 up to the instruction set's block size).
template <int Outputs>
BlockFn pick_for_outputs(bool avx512, int rows) {
  if (avx512) {
    switch (rows) {
      case 4: return block_avx512<4, Outputs>;
      case 3: return block_avx512<3, Outputs>;
      case 2: return block_avx512<2, Outputs>;
      default: return block_avx512<1, Outputs>;
    }
  }
  if constexpr (Outputs <= kOutputsAvx2) return rows >= 2 ? block_avx2<2, Outputs> : block_avx2<1, Outputs>;
  return nullptr;
}

BlockFn pick(bool avx512, int rows, int outputs) {
  switch (outputs) {
    case 6: return pick_for_outputs<6>(avx512, rows);
    case 5: return pick_for_outputs<5>(avx512, rows);
    case 4: return pick_for_outputs<4>(avx512, rows);
    case 3: return pick_for_outputs<3>(avx512, rows);
    case 2: return pick_for_outputs<2>(avx512, rows);
    default: return pick_for_outputs<1>(avx512, rows);
  }
}

/// One task: rows [m0, m1) x outputs [n0, n1), K in slices of kDepth.
void tile(const float* a, const float* b, float* c, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t N,
          int64_t K, bool avx512) {
  const int max_rows = avx512 ? kRowsAvx512 : kRowsAvx2, max_outputs = avx512 ? kOutputsAvx512 : kOutputsAvx2;
  for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
    const int64_t depth = std::min(kDepth, K - k0);
    for (int64_t n = n0; n < n1; n += max_outputs) {
      const int outputs = static_cast<int>(std::min<int64_t>(max_outputs, n1 - n));
      for (int64_t m = m0; m < m1;) {
        const int rows = static_cast<int>(std::min<int64_t>(max_rows, m1 - m));
        const Block block{a + m * K + k0, b + n * K + k0, c + m * N + n, K, K, N, depth, k0 > 0};
        pick(avx512, rows, outputs)(block);
        m += rows;
      }
    }
  }
}

}  // namespace

bool gemm_available() {
  static const bool supported =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !aten_kernels_requested();
  return supported;
}

void gemm_abt(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K) {
  const bool avx512 = has_avx512();
  const int64_t row_tiles = (M + kRowTile - 1) / kRowTile;
  const int64_t output_tiles = (N + kOutputTile - 1) / kOutputTile;
  const int64_t tasks = row_tiles * output_tiles;
  // Small products run on the calling thread: starting the others costs more than they save below about a
  // million multiply-adds, unless b alone is large enough (512 KiB) that reading it is the cost, as at 1 row.
  const bool small = M * N * K < (int64_t{1} << 20) && N * K < (int64_t{1} << 17);
  const int64_t grain = small ? tasks : 1;
  at::parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t m0 = (t / output_tiles) * kRowTile, n0 = (t % output_tiles) * kOutputTile;
      tile(a, b, c, m0, std::min(M, m0 + kRowTile), n0, std::min(N, n0 + kOutputTile), N, K, avx512);
    }
  });
}

#else

bool gemm_available() { return false; }

void gemm_abt(const float*, const float*, float*, int64_t, int64_t, int64_t) {}

#endif

}  // namespace rexrag
