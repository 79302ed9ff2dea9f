// Implements fused_attention.h. One task per (sequence, kv head), split over the threads; a task runs its group
// of query heads in blocks of kQueryBlock queries, with the products on gemm_ab (A read through strides, so the
// projections' (B, T, heads·D) rows are read in place). With r the rotated, pre-scaled queries, R the rotated
// keys, P = softmax(r Rᵀ) and O = P V, the backward pass of one block is
//   dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),  dr = dS R,  dR += dSᵀ r,  dV += Pᵀ dO,
// then the rotary embedding's transpose takes dr and dR back to q and k.
#include "core/fused_attention.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/gemm.h"
#include "core/gemm_ab.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include "core/simd_exp.h"
#define REXRAG_FUSED_ATTENTION 1
#endif

namespace rexrag {

#ifdef REXRAG_FUSED_ATTENTION
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kQueryBlock = 64;  // a block's scores (64 x T floats) and its gradient stay in L2
constexpr float kInfinity = std::numeric_limits<float>::infinity();

/// The lanes of allowed[0, count) that are true (count ≤ 16).
__attribute__((target("avx512f"))) inline __mmask16 allowed_lanes(const bool* allowed, int64_t count) {
  alignas(16) unsigned char bytes[16] = {};
  std::memcpy(bytes, allowed, static_cast<size_t>(std::min<int64_t>(count, 16)));
  const __m512i words = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(bytes)));
  return _mm512_test_epi32_mask(words, words);
}

/// One query's scores row[0, keys) become probabilities over its allowed keys (0 elsewhere). Returns the
/// log-sum-exp of the allowed scores, +inf when none is allowed (the row is then all zeros).
__attribute__((target("avx512f"))) float softmax_row(float* row, const bool* allowed, int64_t keys) {
  __m512 top = _mm512_set1_ps(-kInfinity);
  for (int64_t s = 0; s < keys; s += 16) {
    const __mmask16 ok = allowed_lanes(allowed + s, keys - s);
    top = _mm512_mask_max_ps(top, ok, top, _mm512_maskz_loadu_ps(ok, row + s));
  }
  const float max = _mm512_reduce_max_ps(top);
  if (max == -kInfinity) {
    std::memset(row, 0, keys * sizeof(float));
    return kInfinity;
  }
  const __m512 shift = _mm512_set1_ps(max);
  __m512 sums = _mm512_setzero_ps();
  for (int64_t s = 0; s < keys; s += 16) {
    const __mmask16 in = first_lanes(keys - s), ok = allowed_lanes(allowed + s, keys - s);
    const __m512 e = _mm512_maskz_mov_ps(ok, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(in, row + s), shift)));
    _mm512_mask_storeu_ps(row + s, in, e);
    sums = _mm512_add_ps(sums, e);
  }
  const float total = _mm512_reduce_add_ps(sums);
  const __m512 inverse = _mm512_set1_ps(1.0f / total);
  for (int64_t s = 0; s < keys; s += 16) {
    const __mmask16 in = first_lanes(keys - s);
    _mm512_mask_storeu_ps(row + s, in, _mm512_mul_ps(_mm512_maskz_loadu_ps(in, row + s), inverse));
  }
  return max + std::log(total);
}

/// The backward pass's probabilities from the scores and the saved log-sum-exp: exp(score − lse) where allowed.
__attribute__((target("avx512f"))) void probabilities_row(float* row, const bool* allowed, int64_t keys, float lse) {
  const __m512 shift = _mm512_set1_ps(lse);  // lse = +inf (no allowed key) gives zeros
  for (int64_t s = 0; s < keys; s += 16) {
    const __mmask16 in = first_lanes(keys - s), ok = allowed_lanes(allowed + s, keys - s);
    const __m512 e = _mm512_maskz_mov_ps(ok, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(in, row + s), shift)));
    _mm512_mask_storeu_ps(row + s, in, e);
  }
}

/// dS = P ⊙ (dP − delta), in place in dp.
__attribute__((target("avx512f"))) void score_gradient_row(float* dp, const float* p, int64_t keys, float delta) {
  for (int64_t s = 0; s < keys; ++s) dp[s] = p[s] * (dp[s] - delta);
}

/// out(i, :) = factor · rot(x(i, :)) for `count` rows of x (`x_stride` apart) with the rows of cos and sin (D
/// apart); out(i, d) is written at out[i * out_row + d * out_col], so a transposed copy costs nothing more.
void rotate_rows(const float* x, int64_t x_stride, const float* cos, const float* sin, int64_t count, int64_t D,
                 float factor, float* out, int64_t out_row, int64_t out_col) {
  const int64_t half = D / 2;
  for (int64_t i = 0; i < count; ++i) {
    const float *xi = x + i * x_stride, *c = cos + i * D, *s = sin + i * D;
    float* o = out + i * out_row;
    for (int64_t d = 0; d < half; ++d) {
      const float a = xi[d], b = xi[d + half];
      o[d * out_col] = factor * (a * c[d] - b * s[d]);
      o[(d + half) * out_col] = factor * (b * c[d + half] + a * s[d + half]);
    }
  }
}

/// The transpose of rotate_rows: x's gradient from rot(x)'s, g (count, D) contiguous, out's rows `out_stride` apart.
void unrotate_rows(const float* g, const float* cos, const float* sin, int64_t count, int64_t D, float factor,
                   float* out, int64_t out_stride) {
  const int64_t half = D / 2;
  for (int64_t i = 0; i < count; ++i) {
    const float *gi = g + i * D, *c = cos + i * D, *s = sin + i * D;
    float* o = out + i * out_stride;
    for (int64_t d = 0; d < half; ++d) {
      const float ga = gi[d], gb = gi[d + half];
      o[d] = factor * (ga * c[d] + gb * s[d + half]);
      o[d + half] = factor * (gb * c[d + half] - ga * s[d]);
    }
  }
}

/// The shapes and raw data of one call (all tensors contiguous float32, `allowed` bool).
struct Problem {
  int64_t B, T, heads, kv_heads, D;
  float scale;
  const float *q, *k, *v, *cos, *sin;
  const bool* allowed;
  std::vector<int64_t> block_keys;  // (B, query blocks): keys [0, n) hold every key a block's queries may attend

  int64_t blocks() const { return (T + kQueryBlock - 1) / kQueryBlock; }
  int64_t keys_of_block(int64_t b, int64_t t0) const { return block_keys[b * blocks() + t0 / kQueryBlock]; }
  int64_t group() const { return heads / kv_heads; }
  int64_t q_stride() const { return heads * D; }  // between tokens in q, the output and its gradient
  int64_t kv_stride() const { return kv_heads * D; }
  const float* q_at(int64_t b, int64_t t, int64_t h) const { return q + ((b * T + t) * heads + h) * D; }
  const float* k_at(int64_t b, int64_t g) const { return k + b * T * kv_stride() + g * D; }
  const float* v_at(int64_t b, int64_t g) const { return v + b * T * kv_stride() + g * D; }
  const float* cos_at(int64_t b) const { return cos + b * T * D; }
  const float* sin_at(int64_t b) const { return sin + b * T * D; }
  const bool* allowed_at(int64_t b, int64_t t) const { return allowed + (b * T + t) * T; }
};

/// Fills p.block_keys: for each block of queries, 1 + the last key any of them may attend (0 when none).
void count_block_keys(Problem& p) {
  p.block_keys.assign(p.B * p.blocks(), 0);
  at::parallel_for(0, p.B, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      for (int64_t t = 0; t < p.T; ++t) {
        const bool* row = p.allowed_at(b, t);
        int64_t s = p.T;
        while (s > 0 && !row[s - 1]) --s;
        int64_t& keys = p.block_keys[b * p.blocks() + t / kQueryBlock];
        keys = std::max(keys, s);
      }
    }
  });
}

/// Per-thread scratch of one task.
struct Buffers {
  std::vector<float> rotated_q, rotated_k, keys_t, values_t, scores, grads, block, key_grad, value_grad;
  explicit Buffers(const Problem& p)
      : rotated_q(p.T * p.D), rotated_k(p.T * p.D), keys_t(p.D * p.T), values_t(p.D * p.T),
        scores(kQueryBlock * p.T), grads(kQueryBlock * p.T), block(kQueryBlock * p.D), key_grad(p.T * p.D),
        value_grad(p.T * p.D) {}
};

/// Forward pass of sequence b, kv head g: writes its query heads' outputs (B, T, heads·D) and log-sum-exps
/// (B, heads, T).
void forward_task(const Problem& p, int64_t b, int64_t g, Buffers& buf, float* out, float* lse) {
  const int64_t T = p.T, D = p.D;
  rotate_rows(p.k_at(b, g), p.kv_stride(), p.cos_at(b), p.sin_at(b), T, D, 1.0f, buf.keys_t.data(), 1, T);  // (D, T)
  for (int64_t h = g * p.group(); h < (g + 1) * p.group(); ++h) {
    rotate_rows(p.q_at(b, 0, h), p.q_stride(), p.cos_at(b), p.sin_at(b), T, D, p.scale, buf.rotated_q.data(), D, 1);
    for (int64_t t0 = 0; t0 < T; t0 += kQueryBlock) {
      const int64_t rows = std::min(kQueryBlock, T - t0), keys = p.keys_of_block(b, t0);
      float* block_lse = lse + (b * p.heads + h) * T + t0;
      float* block_out = out + ((b * T + t0) * p.heads + h) * D;
      if (keys == 0) {
        for (int64_t r = 0; r < rows; ++r) std::memset(block_out + r * p.q_stride(), 0, D * sizeof(float));
        std::fill(block_lse, block_lse + rows, kInfinity);
        continue;
      }
      float* scores = buf.scores.data();  // (rows, keys)
      gemm_ab({buf.rotated_q.data() + t0 * D, D, 1}, buf.keys_t.data(), T, scores, rows, keys, D, false);
      for (int64_t r = 0; r < rows; ++r) block_lse[r] = softmax_row(scores + r * keys, p.allowed_at(b, t0 + r), keys);
      gemm_ab({scores, keys, 1}, p.v_at(b, g), p.kv_stride(), buf.block.data(), rows, D, keys, false);
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(block_out + r * p.q_stride(), buf.block.data() + r * D, D * sizeof(float));
      }
    }
  }
}

/// Backward pass of sequence b, kv head g: writes the gradients of its query heads' q, and of its k and v.
void backward_task(const Problem& p, int64_t b, int64_t g, Buffers& buf, const float* out, const float* lse,
                   const float* grad_out, float* grad_q, float* grad_k, float* grad_v) {
  const int64_t T = p.T, D = p.D, qs = p.q_stride();
  rotate_rows(p.k_at(b, g), p.kv_stride(), p.cos_at(b), p.sin_at(b), T, D, 1.0f, buf.rotated_k.data(), D, 1);
  for (int64_t s = 0; s < T; ++s) {
    for (int64_t d = 0; d < D; ++d) {
      buf.keys_t[d * T + s] = buf.rotated_k[s * D + d];
      buf.values_t[d * T + s] = p.v_at(b, g)[s * p.kv_stride() + d];
    }
  }
  std::fill(buf.key_grad.begin(), buf.key_grad.end(), 0.0f);
  std::fill(buf.value_grad.begin(), buf.value_grad.end(), 0.0f);
  for (int64_t h = g * p.group(); h < (g + 1) * p.group(); ++h) {
    rotate_rows(p.q_at(b, 0, h), qs, p.cos_at(b), p.sin_at(b), T, D, p.scale, buf.rotated_q.data(), D, 1);
    for (int64_t t0 = 0; t0 < T; t0 += kQueryBlock) {
      const int64_t rows = std::min(kQueryBlock, T - t0), keys = p.keys_of_block(b, t0);
      const int64_t first = (b * T + t0) * p.heads + h;  // the block's first row in q, out and their gradients
      float* block_grad_q = grad_q + first * D;
      if (keys == 0) {
        for (int64_t r = 0; r < rows; ++r) std::memset(block_grad_q + r * qs, 0, D * sizeof(float));
        continue;
      }
      const float* rotated_q = buf.rotated_q.data() + t0 * D;
      const float* block_grad_out = grad_out + first * D;
      float *probs = buf.scores.data(), *grads = buf.grads.data();  // (rows, keys) each
      gemm_ab({rotated_q, D, 1}, buf.keys_t.data(), T, probs, rows, keys, D, false);
      gemm_ab({block_grad_out, qs, 1}, buf.values_t.data(), T, grads, rows, keys, D, false);  // dP
      for (int64_t r = 0; r < rows; ++r) {
        const float* o = out + (first + r * p.heads) * D;
        const float* go = block_grad_out + r * qs;
        float delta = 0;
        for (int64_t d = 0; d < D; ++d) delta += go[d] * o[d];
        probabilities_row(probs + r * keys, p.allowed_at(b, t0 + r), keys, lse[(b * p.heads + h) * T + t0 + r]);
        score_gradient_row(grads + r * keys, probs + r * keys, keys, delta);
      }
      gemm_ab({probs, 1, keys}, block_grad_out, qs, buf.value_grad.data(), keys, D, rows, true);  // dV += Pᵀ dO
      gemm_ab({grads, 1, keys}, rotated_q, D, buf.key_grad.data(), keys, D, rows, true);           // dR += dSᵀ r
      gemm_ab({grads, keys, 1}, buf.rotated_k.data(), D, buf.block.data(), rows, D, keys, false);  // dr = dS R
      unrotate_rows(buf.block.data(), p.cos_at(b) + t0 * D, p.sin_at(b) + t0 * D, rows, D, p.scale, block_grad_q, qs);
    }
  }
  unrotate_rows(buf.key_grad.data(), p.cos_at(b), p.sin_at(b), T, D, 1.0f, grad_k + b * T * p.kv_stride() + g * D,
                p.kv_stride());
  for (int64_t s = 0; s < T; ++s) {
    std::memcpy(grad_v + (b * T + s) * p.kv_stride() + g * D, buf.value_grad.data() + s * D, D * sizeof(float));
  }
}

Problem problem_of(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos,
                   const at::Tensor& sin, const at::Tensor& allowed) {
  Problem p;
  p.B = q.size(0);
  p.T = q.size(1);
  p.heads = q.size(2);
  p.kv_heads = k.size(2);
  p.D = q.size(3);
  p.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.D)));
  p.q = q.data_ptr<float>();
  p.k = k.data_ptr<float>();
  p.v = v.data_ptr<float>();
  p.cos = cos.data_ptr<float>();
  p.sin = sin.data_ptr<float>();
  p.allowed = allowed.data_ptr<bool>();
  count_block_keys(p);
  return p;
}

/// Runs task(b, g, buffers) for every (sequence, kv head), split over the threads.
template <typename Task>
void for_each_task(const Problem& p, const Task& task) {
  at::parallel_for(0, p.B * p.kv_heads, 1, [&](int64_t begin, int64_t end) {
    Buffers buffers(p);
    for (int64_t i = begin; i < end; ++i) task(i / p.kv_heads, i % p.kv_heads, buffers);
  });
}

struct AttentionFunction : torch::autograd::Function<AttentionFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& allowed) {
    const Problem p = problem_of(q, k, v, cos, sin, allowed);
    at::Tensor out = at::empty({p.B, p.T, p.heads * p.D}, q.options());
    at::Tensor lse = at::empty({p.B, p.heads, p.T}, q.options());
    float *out_data = out.data_ptr<float>(), *lse_data = lse.data_ptr<float>();
    for_each_task(p, [&](int64_t b, int64_t g, Buffers& buf) { forward_task(p, b, g, buf, out_data, lse_data); });
    ctx->save_for_backward({q, k, v, cos, sin, allowed, out, lse});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &out = saved[6], &lse = saved[7];
    const Problem p = problem_of(q, k, v, saved[3], saved[4], saved[5]);
    const at::Tensor grad_out = grads[0].contiguous();
    at::Tensor grad_q = at::empty_like(q), grad_k = at::empty_like(k), grad_v = at::empty_like(v);
    const float *out_data = out.data_ptr<float>(), *lse_data = lse.data_ptr<float>(), *go = grad_out.data_ptr<float>();
    float *gq = grad_q.data_ptr<float>(), *gk = grad_k.data_ptr<float>(), *gv = grad_v.data_ptr<float>();
    for_each_task(p, [&](int64_t b, int64_t g, Buffers& buf) {
      backward_task(p, b, g, buf, out_data, lse_data, go, gq, gk, gv);
    });
    return {grad_q, grad_k, grad_v, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool fused_attention_applies(const at::Tensor& x) {
  return gemm_ab_beats_blas() && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
         !at::autocast::is_cpu_enabled();
}

at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& cos,
                           const at::Tensor& sin, const at::Tensor& allowed) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.sizes() == k.sizes() && q.size(0) == k.size(0) &&
                  q.size(1) == k.size(1) && q.size(3) == k.size(3) && q.size(3) % 2 == 0 &&
                  q.size(2) % k.size(2) == 0,
              "fused_attention: q (B, T, nH, D) and k, v (B, T, nKV, D) disagree");
  const int64_t B = q.size(0), T = q.size(1), D = q.size(3);
  TORCH_CHECK(cos.numel() == B * T * D && sin.numel() == B * T * D, "fused_attention: cos and sin must be (B, T, D)");
  TORCH_CHECK(allowed.scalar_type() == at::kBool && allowed.numel() == B * T * T,
              "fused_attention: allowed must be a (B, T, T) bool mask");
  return AttentionFunction::apply(q.contiguous(), k.contiguous(), v.contiguous(), cos.contiguous(), sin.contiguous(),
                                  allowed.contiguous());
}

#else

bool fused_attention_applies(const at::Tensor&) { return false; }

at::Tensor fused_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                           const at::Tensor&, const at::Tensor&) {
  TORCH_CHECK(false, "fused_attention: not built for this CPU");
}

#endif

}  // namespace rexrag
