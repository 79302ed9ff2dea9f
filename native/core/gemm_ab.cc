// Implements gemm_ab.h. Like gemm.cc, both instruction-set builds are compiled through function attributes and
// picked at run time. A task owns a tile of C; per K slice it copies its rows of A into blocks laid out k-major
// (the block's values for one k are adjacent, whatever A's strides) and its columns of B into strips, then runs
// the register block over every (strip, row block) pair.
#include "core/gemm_ab.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define REXRAG_GEMM_AB_KERNEL 1
#endif

namespace rexrag {

#ifdef REXRAG_GEMM_AB_KERNEL
namespace {

constexpr int64_t kDepth = 256;       // K slice (128-384 measured alike; 256 a little ahead)
constexpr int64_t kRowTile = 128;     // rows of C per task: each packed B strip serves 16 row blocks
constexpr int64_t kMinRowTile = 32;   // below this the per-task B copies outweigh the products (lab's 128 x 128)
constexpr int64_t kColumnTile = 384;  // columns of C per task (a multiple of 48 and 16)
constexpr int64_t kDirectRow = 512;   // B rows up to this many floats are read in place, not packed

/// One register block's job: `depth` steps over an A block (Rows adjacent values per k, `a_step` apart) and a B
/// strip (adjacent values per k, `b_step` apart), into the `rows` x `cols` corner of c (row stride ldc), added to
/// c when `accumulate`. The block and strip are packed copies, or A and B themselves where their layout allows.
struct Panel {
  const float* a;
  const float* b;
  float* c;
  int64_t a_step, b_step, ldc, depth;
  int rows, cols;
  bool accumulate;
};

template <int Rows, int Vecs>
__attribute__((target("avx512f"))) void block_avx512(const Panel& p) {
  __m512 acc[Rows][Vecs];
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < Vecs; ++v) acc[r][v] = _mm512_setzero_ps();
  const float* a = p.a;
  const float* b = p.b;
  const int64_t depth = p.depth;
  for (int64_t k = 0; k < depth; ++k, a += p.a_step, b += p.b_step) {
    __m512 bv[Vecs];
#pragma GCC unroll 4
    for (int v = 0; v < Vecs; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < Vecs; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  // Masked stores cost the same as plain ones, so the ragged corner needs no other path. (Loops over constant
  // bounds, unrolled, keep acc in registers: a runtime index into it would put it on the stack.)
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r) {
    if (r >= p.rows) break;
#pragma GCC unroll 4
    for (int v = 0; v < Vecs; ++v) {
      const int left = p.cols - 16 * v;
      if (left <= 0) break;
      const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      float* out = p.c + r * p.ldc + 16 * v;
      const __m512 sum = p.accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), acc[r][v]) : acc[r][v];
      _mm512_mask_storeu_ps(out, mask, sum);
    }
  }
}

template <int Rows, int Vecs>
__attribute__((target("avx2,fma"))) void block_avx2(const Panel& p) {
  __m256 acc[Rows][Vecs];
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < Vecs; ++v) acc[r][v] = _mm256_setzero_ps();
  const float* a = p.a;
  const float* b = p.b;
  const int64_t depth = p.depth;
  for (int64_t k = 0; k < depth; ++k, a += p.a_step, b += p.b_step) {
    __m256 bv[Vecs];
#pragma GCC unroll 4
    for (int v = 0; v < Vecs; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 4
      for (int v = 0; v < Vecs; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r) {
    if (r >= p.rows) break;
#pragma GCC unroll 4
    for (int v = 0; v < Vecs; ++v) {
      const int left = p.cols - 8 * v;
      if (left <= 0) break;
      float* out = p.c + r * p.ldc + 8 * v;
      if (left >= 8) {
        _mm256_storeu_ps(out, p.accumulate ? _mm256_add_ps(_mm256_loadu_ps(out), acc[r][v]) : acc[r][v]);
      } else {
        alignas(32) float sums[8];
        _mm256_store_ps(sums, acc[r][v]);
        for (int t = 0; t < left; ++t) out[t] = p.accumulate ? out[t] + sums[t] : sums[t];
      }
    }
  }
}

using BlockFn = void (*)(const Panel&);

/// The register block of one instruction set: rows x width, and the builds for a full strip and narrower tails.

/// Grow-only 64-byte-aligned scratch, one per thread, so tasks do not allocate.
class Scratch {
 public:
  float* get(size_t floats) {
    if (floats > size_) {
      const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      size_ = floats;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  size_t size_ = 0;
};

/// A's rows [m0, m0 + rows) x [k0, k0 + depth) as blocks of R rows, k-major inside a block; missing rows are 0.
template <int R>
void pack_a(StridedMatrix a, int64_t m0, int64_t rows, int64_t k0, int64_t depth, float* out) {
  for (int64_t b = 0; b < rows; b += R, out += depth * R) {
    const int n = static_cast<int>(std::min<int64_t>(R, rows - b));
    const float* src = a.data + (m0 + b) * a.row_stride + k0 * a.col_stride;
    if (a.row_stride == 1 && n == R) {  // a transposed view (gᵀ): the block's values for one k are adjacent
      for (int64_t k = 0; k < depth; ++k) std::memcpy(out + k * R, src + k * a.col_stride, R * sizeof(float));
    } else {
      for (int r = 0; r < n; ++r) {
        const float* from = src + r * a.row_stride;
        for (int64_t k = 0; k < depth; ++k) out[k * R + r] = from[k * a.col_stride];
      }
      for (int r = n; r < R; ++r)
        for (int64_t k = 0; k < depth; ++k) out[k * R + r] = 0;
    }
  }
}

/// B's rows [k0, k0 + depth) x columns [n0, n0 + cols) as strips W wide, k-major; missing columns are 0.
template <int W>
void pack_b(const float* b, int64_t ldb, int64_t k0, int64_t depth, int64_t n0, int64_t cols, float* out) {
  for (int64_t s = 0; s < cols; s += W, out += depth * W) {
    const int64_t n = std::min<int64_t>(W, cols - s);
    const float* src = b + k0 * ldb + n0 + s;
    if (n == W) {
      for (int64_t k = 0; k < depth; ++k) std::memcpy(out + k * W, src + k * ldb, W * sizeof(float));
    } else {
      for (int64_t k = 0; k < depth; ++k) {
        std::memcpy(out + k * W, src + k * ldb, n * sizeof(float));
        std::memset(out + k * W + n, 0, (W - n) * sizeof(float));
      }
    }
  }
}

using PackA = void (*)(StridedMatrix, int64_t, int64_t, int64_t, int64_t, float*);
using PackB = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*);

/// The register block of one instruction set: rows x width, its builds for a full strip and narrower tails, and
/// the packing for its shape.
struct Isa {
  int rows, width, lanes;
  BlockFn by_vectors[4];  // [v]: v vectors wide (1..3)
  PackA pack_a;
  PackB pack_b;
};

const Isa& isa() {
  static const Isa avx512{8, 48, 16, {nullptr, block_avx512<8, 1>, block_avx512<8, 2>, block_avx512<8, 3>},
                          pack_a<8>, pack_b<48>};
  static const Isa avx2{6, 16, 8, {nullptr, block_avx2<6, 1>, block_avx2<6, 2>, nullptr}, pack_a<6>, pack_b<16>};
#ifdef REXRAG_GEMM_AB_FORCE_AVX2  // for the micro-benchmark: the AVX2 build on an AVX-512 machine
  static const bool has_avx512 = false;
#else
  static const bool has_avx512 = __builtin_cpu_supports("avx512f");
#endif
  return has_avx512 ? avx512 : avx2;
}

/// One task: C's rows [m0, m1) x columns [n0, n1), all of K in slices of kDepth. A transposed view of A (row
/// stride 1) already has a block's values for one k adjacent, and B rows of at most kDirectRow floats are few
/// pages per slice: those are read in place, and only a ragged last block or strip is packed (the kernel reads
/// whole blocks and vectors).
void tile(StridedMatrix a, const float* b, int64_t ldb, float* c, int64_t N, int64_t K, int64_t m0, int64_t m1,
          int64_t n0, int64_t n1, bool accumulate, const Isa& isa) {
  thread_local Scratch a_scratch, b_scratch;
  const int R = isa.rows, W = isa.width;
  const int64_t rows = m1 - m0, cols = n1 - n0;
  const bool direct_a = a.row_stride == 1, direct_b = ldb <= kDirectRow;
  const int64_t full_rows = direct_a ? rows / R * R : 0;  // rows read in place
  // Columns read in place: all when they are whole vectors, else whole strips (the rest packed from a strip's start).
  const int64_t full_cols = !direct_b ? 0 : cols % isa.lanes == 0 ? cols : cols / W * W;
  float* ap = a_scratch.get((rows - full_rows + R - 1) / R * R * kDepth);
  float* bp = b_scratch.get((cols - full_cols + W - 1) / W * W * kDepth);
  for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
    const int64_t depth = std::min(kDepth, K - k0);
    if (full_rows < rows) isa.pack_a(a, m0 + full_rows, rows - full_rows, k0, depth, ap);
    if (full_cols < cols) isa.pack_b(b, ldb, k0, depth, n0 + full_cols, cols - full_cols, bp);
    for (int64_t s = 0; s < cols; s += W) {
      const int strip_cols = static_cast<int>(std::min<int64_t>(W, cols - s));
      const bool strip_in_place = s + strip_cols <= full_cols;
      const BlockFn block = isa.by_vectors[(strip_cols + isa.lanes - 1) / isa.lanes];
      const float* strip = strip_in_place ? b + k0 * ldb + n0 + s : bp + ((s - full_cols) / W) * depth * W;
      const int64_t b_step = strip_in_place ? ldb : W;
      for (int64_t r = 0; r < rows; r += R) {
        const bool block_in_place = r < full_rows;
        const float* block_a =
            block_in_place ? a.data + (m0 + r) + k0 * a.col_stride : ap + ((r - full_rows) / R) * depth * R;
        const Panel panel{block_a, strip, c + (m0 + r) * N + n0 + s, block_in_place ? a.col_stride : R, b_step,
                          N, depth, static_cast<int>(std::min<int64_t>(R, rows - r)), strip_cols,
                          accumulate || k0 > 0};
        block(panel);
      }
    }
  }
}

}  // namespace

bool gemm_ab_beats_blas() {
  static const bool faster = gemm_available() && __builtin_cpu_supports("avx512f");
  return faster;
}

void gemm_ab(StridedMatrix a, const float* b, int64_t ldb, float* c, int64_t M, int64_t N, int64_t K,
             bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) std::memset(c, 0, M * N * sizeof(float));
    return;
  }
  const Isa& chosen = isa();
  // Tiles only decide who computes what, never the order of a sum, so they may shrink to give both threads work
  // when C is small and K long (the lab's weight gradients, 128 x 128 over 13,440 tokens).
  int64_t row_tile = kRowTile;
  const int64_t column_tiles = (N + kColumnTile - 1) / kColumnTile;
  while (row_tile > kMinRowTile && ((M + row_tile - 1) / row_tile) * column_tiles < 4) row_tile /= 2;
  const int64_t row_tiles = (M + row_tile - 1) / row_tile;
  const int64_t tasks = row_tiles * column_tiles;
  // Below about a million multiply-adds the threads' start costs more than they save.
  const int64_t grain = M * N * K < (int64_t{1} << 20) ? tasks : 1;
  at::parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t m0 = (t / column_tiles) * row_tile, n0 = (t % column_tiles) * kColumnTile;
      tile(a, b, ldb, c, N, K, m0, std::min(M, m0 + row_tile), n0, std::min(N, n0 + kColumnTile), accumulate,
           chosen);
    }
  });
}

#else

bool gemm_ab_beats_blas() { return false; }

void gemm_ab(StridedMatrix, const float*, int64_t, float*, int64_t, int64_t, int64_t, bool) {}

#endif

}  // namespace rexrag
